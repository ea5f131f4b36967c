// The API client: JSON in and out, the bearer token from this tab's sessionStorage, and
// every error answer turned into an ApiError carrying the API's code and message.

const TOKEN_KEY = "healthpipe.session";

/** An error answer of the API (`{"error", "message"}`), or a network failure (status 0). */
export class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }

  /** What the user reads. */
  describe() {
    if (this.status === 0) return this.message;
    const retry = this.retryAfter ? ` Retry in ${this.retryAfter} s.` : "";
    return `${this.message} (${this.status} ${this.code}).${retry}`;
  }
}

/** The signed-in session: kept for this tab only, gone when it closes. */
export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  set token(value) {
    sessionStorage.setItem(TOKEN_KEY, value);
  },
  clear() {
    sessionStorage.removeItem(TOKEN_KEY);
  },
};

let onUnauthorized = () => {};

/** Called when a request with a token gets a 401: the session is over. */
export function whenUnauthorized(handler) {
  onUnauthorized = handler;
}

/**
 * `method path` with an optional JSON `body` (or a raw `upload` with its `contentType`) and
 * `query` parameters. Answers the parsed JSON (null for an empty body); throws ApiError.
 */
export async function api(method, path, { body, query, upload, contentType, signal } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
  }
  const headers = { Accept: "application/json" };
  const token = session.token;
  if (token) headers.Authorization = `Bearer ${token}`;
  let payload;
  if (upload !== undefined) {
    headers["Content-Type"] = contentType;
    payload = upload;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, { method, headers, body: payload, signal, cache: "no-store" });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "network", `The server could not be reached (${error.message}).`);
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const code = typeof data?.error === "string" ? data.error : `http_${response.status}`;
    const message =
      typeof data?.message === "string" ? data.message : response.statusText || "request failed";
    const error = new ApiError(response.status, code, message, response.headers.get("retry-after"));
    if (response.status === 401 && token) onUnauthorized(error);
    throw error;
  }
  return data;
}

/** Waits `ms` milliseconds. */
export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
