-- wrk script: POST API-channel messages with unique external ids over 200 contacts.
local counter = 0
local token = os.getenv("SB_INBOUND_TOKEN") or "tttttttttttttttttttttttt"
request = function()
  counter = counter + 1
  local body = string.format(
    '{"external_id":"m-%d-%d","text":"message %d","contact":{"external_id":"c%d"}}',
    math.random(1e9), counter, counter, counter % 200)
  return wrk.format("POST", nil, {["content-type"] = "application/json",
                                  ["authorization"] = "Bearer " .. token}, body)
end
