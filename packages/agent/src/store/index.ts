export { CorruptStoreError, InvalidEntryError, WrongKeyError } from "./errors.ts";
export {
  LocalStore,
  type LoggedMessage,
  type OpenStoreOptions,
  type PeerRecord,
  type StoredEnvelope,
} from "./local-store.ts";
