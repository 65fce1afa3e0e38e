/** Errors the local API turns into clear 4xx answers for the UI. */

export class UserInputError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(message: string, code = "INVALID_INPUT", status = 400) {
    super(message);
    this.name = "UserInputError";
    this.code = code;
    this.status = status;
  }
}

export class NotFoundError extends UserInputError {
  constructor(message: string) {
    super(message, "NOT_FOUND", 404);
    this.name = "NotFoundError";
  }
}

export class LockedError extends UserInputError {
  constructor() {
    super("PerpetuaNet is locked on this PC: log in or unlock first", "LOCKED", 423);
    this.name = "LockedError";
  }
}
