// The JSON API, called with the session cookie (the browser sends it; no
// script can read it). Errors come back in the API's shape,
// {"Messages": [{"Code", "Message"}]}, and are thrown as ApiError with the
// server's own message, which the pages show as they are.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let sessionEnded = () => {};

/** Called with the ApiError when a request finds the session gone (401). */
export function onSessionEnded(fn) {
  sessionEnded = fn;
}

export async function call(method, path, body, { signIn = false } = {}) {
  const init = {
    method,
    headers: { Accept: 'application/json' },
    credentials: 'same-origin',
    cache: 'no-store',
  };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, 'NetworkError', 'The server cannot be reached; check that coffre is running, then try again.');
  }
  const text = res.status === 204 ? '' : await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch (e) {
      data = null;
    }
  }
  if (!res.ok) {
    const first = data && Array.isArray(data.Messages) ? data.Messages[0] : null;
    const error = new ApiError(
      res.status,
      first ? first.Code : 'Error',
      first ? first.Message : `The server answered ${res.status}.`,
    );
    if (res.status === 401 && !signIn) sessionEnded(error);
    throw error;
  }
  return data;
}

export const get = (path) => call('GET', path);
export const post = (path, body) => call('POST', path, body === undefined ? {} : body);
export const put = (path, body) => call('PUT', path, body);
export const patch = (path, body) => call('PATCH', path, body);
export const del = (path) => call('DELETE', path);

/** A query string from the filled-in entries of an object. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v !== null && v !== undefined) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}
