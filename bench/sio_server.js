// The peer: a socket.io (Node) server that rebroadcasts every "msg" to every client.
// Usage: node bench/sio_server.js PORT
const { Server } = require("socket.io");
const port = Number(process.argv[2]);
const io = new Server(port, { perMessageDeflate: false, transports: ["websocket"] });
io.on("connection", (socket) => {
  socket.on("msg", (data) => socket.broadcast.emit("msg", data));
});
console.log(`socket.io on ${port}`);
