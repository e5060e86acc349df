// api.js — parleyd's HTTP JSON API (docs/api.md): POST /api/<method> with a
// JSON body and the moderator's session token as a Bearer header.  Replies
// are {"ok":true,"result":...} or {"ok":false,"error_code":N,"description":"CODE: words"}.

export class ApiError extends Error {
  constructor(code, status, description) {
    super(description || code);
    this.code = code;      // e.g. "ROLE_REQUIRED"
    this.status = status;  // e.g. 403
  }
  /* The words after "CODE: ", for people. */
  get words() {
    const i = this.message.indexOf(': ');
    const s = i >= 0 ? this.message.slice(i + 2) : this.message;
    return s.charAt(0).toUpperCase() + s.slice(1);
  }
}

export class NetworkError extends Error {
  constructor() { super('The server cannot be reached. Check the connection and try again.'); }
}

export class Api {
  constructor() {
    this.token = null;
    this.onUnauthorized = null;  // a session call answered 401
    this.onRoleRequired = null;  // a moderation call answered 403 ROLE_REQUIRED
  }

  async call(method, params = {}) {
    const headers = { 'Content-Type': 'application/json' };
    if (this.token) headers.Authorization = 'Bearer ' + this.token;
    let res, body;
    try {
      res = await fetch('/api/' + method, { method: 'POST', headers, body: JSON.stringify(params), cache: 'no-store' });
      body = await res.json();
    } catch {
      throw new NetworkError();
    }
    if (body.ok) return body.result;
    const desc = String(body.description || 'INTERNAL');
    const code = desc.split(':')[0].trim();
    const err = new ApiError(code, body.error_code || res.status, desc);
    if (res.status === 401 && this.token && method !== 'logOut' && method !== 'login') this.onUnauthorized?.(err);
    if (code === 'ROLE_REQUIRED') this.onRoleRequired?.(err, method);
    throw err;
  }
}

export function errorText(e) {
  if (e instanceof ApiError) return e.words;
  return String(e?.message || e);
}
