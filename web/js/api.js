// api.js — calls parleyd's HTTP JSON API (docs/api.md): POST /api/<method>
// with a JSON body and the session token as a Bearer header.  Replies are
// {"ok":true,"result":...} or {"ok":false,"error_code":N,"description":"CODE: words"}.

export class ApiError extends Error {
  constructor(code, status, description, retryAfter) {
    super(description || code);
    this.code = code;            // stable code, e.g. "CHAT_NOT_FOUND"
    this.status = status;        // HTTP-style status, e.g. 400
    this.retryAfter = retryAfter || 0;
  }
  /* The words after "CODE: ", for showing to a person. */
  get words() {
    const i = this.message.indexOf(': ');
    const s = i >= 0 ? this.message.slice(i + 2) : this.message;
    return s.charAt(0).toUpperCase() + s.slice(1);
  }
}

/* The request never got an answer: offline, server down, connection reset. */
export class NetworkError extends Error {
  constructor(cause) {
    super('The server cannot be reached');
    this.cause = cause;
  }
}

export class Api {
  constructor() {
    this.token = null;
    this.onUnauthorized = null;   // called once when a session call answers 401
  }

  async call(method, params = {}, { retries = 1 } = {}) {
    const headers = { 'Content-Type': 'application/json' };
    if (this.token) headers.Authorization = 'Bearer ' + this.token;
    let res, body;
    try {
      res = await fetch('/api/' + method, { method: 'POST', headers, body: JSON.stringify(params), cache: 'no-store' });
    } catch (e) {
      throw new NetworkError(e);
    }
    try {
      body = await res.json();
    } catch (e) {
      if (res.status >= 500) throw new ApiError('SERVER_BUSY', res.status, 'SERVER_BUSY: the server is not answering properly');
      throw new NetworkError(e);
    }
    if (body.ok) return body.result;
    const desc = String(body.description || 'INTERNAL');
    const code = desc.split(':')[0].trim();
    const retryAfter = body.parameters?.retry_after || 0;
    if (res.status === 401 && this.token && method !== 'logOut') this.onUnauthorized?.();
    if ((res.status === 429 || res.status === 503) && retries > 0 && retryAfter <= 5) {
      await new Promise((r) => setTimeout(r, Math.max(1, retryAfter) * 1000));
      return this.call(method, params, { retries: retries - 1 });
    }
    throw new ApiError(code, body.error_code || res.status, desc, retryAfter);
  }
}

export function errorText(e) {
  if (e instanceof ApiError) return e.words;
  if (e instanceof NetworkError) return 'No connection to the server. Check your network and try again.';
  return String(e?.message || e);
}
