// REST client: one place that knows URLs, JSON and the error envelope.
export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

async function request(method, path, body) {
  const init = { method, credentials: 'same-origin', headers: {} };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, 'network', 'Network error — check your connection');
  }
  if (response.status === 401 && api.onUnauthorized && !path.startsWith('/api/auth/')) {
    api.onUnauthorized();
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = text; }
  }
  if (!response.ok) {
    const e = (data && data.error) || {};
    throw new ApiError(response.status, e.code, e.message, e.details);
  }
  return data;
}

function qs(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') q.set(k, v);
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

export const api = {
  onUnauthorized: null,
  get: (path, params) => request('GET', path + qs(params)),
  post: (path, body) => request('POST', path, body ?? {}),
  patch: (path, body) => request('PATCH', path, body),
  put: (path, body) => request('PUT', path, body),
  del: (path) => request('DELETE', path),
  del: (path) => request('DELETE', path),
  qs,

  login: (email, password, code) => request('POST', '/api/auth/login', code ? { email, password, code } : { email, password }),
  logout: () => request('POST', '/api/auth/logout', {}),
  me: () => request('GET', '/api/me'),
  conversations: (params) => request('GET', '/api/conversations' + qs(params)),
  conversation: (id) => request('GET', `/api/conversations/${id}`),
  messages: (id, params) => request('GET', `/api/conversations/${id}/messages` + qs(params)),
  send: (id, body) => request('POST', `/api/conversations/${id}/messages`, body),
  retry: (id, mid) => request('POST', `/api/conversations/${id}/messages/${mid}/retry`, {}),
  setStatus: (id, status, snoozedUntil) =>
    request('POST', `/api/conversations/${id}/status`, { status, snoozed_until: snoozedUntil ?? null }),
  assign: (id, body) => request('POST', `/api/conversations/${id}/assignment`, body),
  labels: (id, add, remove) => request('POST', `/api/conversations/${id}/labels`, { add, remove }),
  priority: (id, priority) => request('POST', `/api/conversations/${id}/priority`, { priority }),
  contact: (id) => request('GET', `/api/contacts/${id}`),
  contactConversations: (id) => request('GET', `/api/contacts/${id}/conversations`),
  mergeContact: (id, sourceId) => request('POST', `/api/contacts/${id}/merge`, { source_id: sourceId }),
  canned: () => request('GET', '/api/canned-responses'),
  /** Upload one file (raw body) for a reply; returns {id, filename, size, url}. */
  async upload(conversationId, file) {
    const url = `/api/conversations/${conversationId}/attachments${qs({ filename: file.name })}`;
    const response = await fetch(url, { method: 'POST', credentials: 'same-origin', body: file,
      headers: { 'content-type': file.type || 'application/octet-stream' } });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const e = data.error || {};
      throw new ApiError(response.status, e.code, e.message, e.details);
    }
    return data;
  },
};
