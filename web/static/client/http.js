// HTTP plumbing of the client: one JSON request, and the error it throws.
//
// Contract: every non-2xx answer becomes an ApiError carrying the server's ErrorBody
// (`detail`, and `field` when one input is to blame); a network failure is an ApiError
// with status 0. Nothing here knows about tokens (see auth.js).

/** An HTTP error answer (or a network failure: status 0). */
export class ApiError extends Error {
  /**
   * @param {number} status HTTP status, 0 when the request never got an answer
   * @param {object} body the parsed ErrorBody ({detail, field, ...}) or {detail: text}
   */
  constructor(status, body) {
    const detail = (body && body.detail) || `HTTP ${status}`;
    super(detail);
    this.name = "ApiError";
    this.status = status;
    this.detail = detail;
    this.field = (body && body.field) || null;
    this.body = body || {};
  }
}

/** The header carrying the engine's events-stream sequence of a state query. */
export const STREAM_SEQ_HEADER = "Wt-Stream-Seq";

/**
 * Send one request and parse its JSON answer.
 *
 * @param {string|URL} url absolute URL
 * @param {{method?: string, headers?: object, json?: any, form?: object, signal?: AbortSignal}} options
 *   `json` is sent as application/json, `form` as application/x-www-form-urlencoded
 * @returns {Promise<{status: number, data: any, headers: Headers, seq: number|null}>}
 *   `seq` is the Wt-Stream-Seq header as a number, or null
 * @throws {ApiError} non-2xx answer, or status 0 when the network failed
 */
export async function requestJSON(url, options = {}) {
  const headers = { Accept: "application/json", ...(options.headers || {}) };
  let body;
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.json);
  } else if (options.form !== undefined) {
    body = new URLSearchParams(options.form);
  }
  let response;
  try {
    response = await fetch(url, {
      method: options.method || "GET",
      headers,
      body,
      signal: options.signal,
      credentials: "same-origin",
    });
  } catch (error) {
    if (error && error.name === "AbortError") throw error;
    throw new ApiError(0, { detail: `network error: ${error && error.message}` });
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { detail: text.slice(0, 500) };
    }
  }
  if (!response.ok) throw new ApiError(response.status, data);
  const rawSeq = response.headers.get(STREAM_SEQ_HEADER);
  const seq = rawSeq === null || rawSeq === "" ? null : Number(rawSeq);
  return { status: response.status, data, headers: response.headers, seq };
}
