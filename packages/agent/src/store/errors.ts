export class WrongKeyError extends Error {
  constructor(path: string) {
    super(`cannot open the local database ${path}: wrong password or key (or not a PerpetuaNet database)`);
    this.name = "WrongKeyError";
  }
}

export class CorruptStoreError extends Error {
  constructor(path: string, detail: string) {
    super(`the local database file is damaged: ${path} (${detail})`);
    this.name = "CorruptStoreError";
  }
}

export class InvalidEntryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidEntryError";
  }
}
