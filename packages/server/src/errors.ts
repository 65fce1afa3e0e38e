/** Every error leaves the server as JSON `{error, code}` with a 4xx/5xx status. */
export class HttpError extends Error {
  readonly statusCode: number;
  readonly code: string;
  readonly headers: Record<string, string>;

  constructor(statusCode: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = "HttpError";
    this.statusCode = statusCode;
    this.code = code;
    this.headers = headers;
  }
}

export const unauthorized = (message = "missing or invalid access token") =>
  new HttpError(401, "UNAUTHORIZED", message);
