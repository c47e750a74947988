/**
 * The SyncFlow client library: one typed way to sign in, upload, list, read, delete, reprocess
 * and follow files, for browsers and Node.js alike (fetch and XHR, no AWS SDK). The console, the
 * end-to-end suite and later the CLI use it; none of them re-implements these calls.
 */

export {
  Crc64Nvme,
  combineCrc64,
  crc64nvme,
  crc64ToBase64,
} from '../../shared/domain/crc64nvme.ts';
export { SyncFlowApi } from './api.ts';
export {
  CognitoAuth,
  memorySessionStore,
  type Session,
  type SessionStore,
  type UserPoolConfig,
} from './auth.ts';
export { AbortError, ApiError, isAbort } from './errors.ts';
export type { FetchLike, HttpOptions } from './http.ts';
export {
  fingerprint,
  type JournalEntry,
  localStorageJournal,
  memoryJournal,
  type ResumeJournal,
  type UploadFile,
} from './journal.ts';
export { backoffDelay, DEFAULT_RETRY, type RetryPolicy } from './retry.ts';
export {
  type ConnectionState,
  handshakeRefusal,
  type SocketFactory,
  type SocketLike,
  type Subscription,
  SubscriptionRefusedError,
  subscribe,
} from './subscription.ts';
export {
  defaultTransport,
  fetchTransport,
  TransferError,
  type Transport,
  xhrTransport,
} from './transport.ts';
export * from './types.ts';
export { Uploader, type UploadOptions, type UploadProgress, type UploadResult } from './upload.ts';

import { SyncFlowApi } from './api.ts';
import { CognitoAuth, type SessionStore } from './auth.ts';
import type { FetchLike } from './http.ts';
import type { ResumeJournal } from './journal.ts';
import { type SocketFactory, subscribe } from './subscription.ts';
import type { Transport } from './transport.ts';
import type { FileEventMessage } from './types.ts';
import { Uploader } from './upload.ts';

/** What a client needs to know about a stack (`.syncflow/local.json`, the console's config.json). */
export interface StackConfig {
  readonly restUrl: string;
  readonly websocketUrl: string;
  readonly region: string;
  readonly userPoolClientId: string;
  /** The user pool's id: sign-in then proves the password by SRP and never sends it. */
  readonly userPoolId?: string;
  /** The Cognito endpoint, when not AWS's own (the emulator). */
  readonly cognitoEndpoint?: string;
}

/** The whole library wired for one stack: `auth`, `api`, `uploader` and `subscribe`. */
export class SyncFlowClient {
  readonly auth: CognitoAuth;
  readonly api: SyncFlowApi;
  readonly uploader: Uploader;

  constructor(
    readonly config: StackConfig,
    options: {
      fetch?: FetchLike;
      sessions?: SessionStore;
      journal?: ResumeJournal;
      transport?: Transport;
      /** A fixed token instead of signing in (tests, tools with a token of their own). */
      token?: string;
    } = {},
  ) {
    this.auth = new CognitoAuth(
      {
        region: config.region,
        userPoolClientId: config.userPoolClientId,
        ...(config.userPoolId && { userPoolId: config.userPoolId }),
        ...(config.cognitoEndpoint && { endpoint: config.cognitoEndpoint }),
      },
      options.sessions,
      options.fetch,
    );
    const fixed = options.token;
    const token = fixed !== undefined ? async () => fixed : () => this.auth.token();
    this.api = new SyncFlowApi({
      baseUrl: config.restUrl,
      token,
      ...(options.fetch && { fetch: options.fetch }),
    });
    this.uploader = new Uploader(this.api, config.restUrl, {
      ...(options.journal && { journal: options.journal }),
      ...(options.transport && { transport: options.transport }),
    });
    this.token = token;
  }

  private readonly token: () => Promise<string | undefined>;

  /** Live events of the signed-in user's files (see `subscribe`). */
  subscribe(handlers: {
    onEvent: (event: FileEventMessage) => void;
    onReconnect?: () => void;
    onState?: (state: import('./subscription.ts').ConnectionState) => void;
    onRefused?: (error: import('./subscription.ts').SubscriptionRefusedError) => void;
    socket?: SocketFactory;
  }) {
    return subscribe({ url: this.config.websocketUrl, token: this.token, ...handlers });
  }
}
