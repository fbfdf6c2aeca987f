// Calls to the JSON API with the session's CSRF token. Every refusal becomes an ApiError
// carrying the API's error body: `detail` (a sentence), `code`, and `errors` (messages by
// dotted field path, for forms to show beside each field).
import { csrfToken } from "./dom.js";

export class ApiError extends Error {
  constructor(status, body) {
    const detail = (body && body.detail) || `The server answered ${status}.`;
    super(detail);
    this.status = status;
    this.code = (body && body.code) || "error";
    this.errors = (body && body.errors) || {};
    this.body = body;
  }
}

async function call(method, url, body) {
  const headers = { Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  let response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    throw new ApiError(0, { detail: `The server could not be reached (${error.message}).` });
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { detail: text.slice(0, 300) || `The server answered ${response.status}.` };
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** GET `url`; the parsed JSON, or an ApiError. */
export const getJson = (url) => call("GET", url);

/** POST `body` as JSON to `url`; the parsed JSON answer, or an ApiError. */
export const postJson = (url, body) => call("POST", url, body);
