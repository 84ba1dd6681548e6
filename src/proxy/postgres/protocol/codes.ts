/** PostgreSQL wire protocol 3.0 constants (https://www.postgresql.org/docs/current/protocol-message-formats.html). */

export const PROTOCOL_3_0 = 196608;
export const SSL_REQUEST_CODE = 80877103;
export const GSSENC_REQUEST_CODE = 80877104;
export const CANCEL_REQUEST_CODE = 80877102;

/** libpq's limit for the startup packet (MAX_STARTUP_PACKET_LENGTH). */
export const MAX_STARTUP_PACKET_BYTES = 10_000;

/** First byte of a TLS ClientHello record: PostgreSQL 17 "direct" TLS negotiation. */
export const TLS_HANDSHAKE_BYTE = 0x16;

/** Frontend (client → server) message type bytes. */
export const enum Frontend {
  Bind = 0x42, // B
  Close = 0x43, // C
  Describe = 0x44, // D
  Execute = 0x45, // E
  FunctionCall = 0x46, // F
  Flush = 0x48, // H
  Parse = 0x50, // P
  Query = 0x51, // Q
  Sync = 0x53, // S
  Terminate = 0x58, // X
  CopyDone = 0x63, // c
  CopyData = 0x64, // d
  CopyFail = 0x66, // f
  /** PasswordMessage, SASLInitialResponse and SASLResponse all use 'p'. */
  AuthResponse = 0x70, // p
}

/** Backend (server → client) message type bytes. */
export const enum Backend {
  ParseComplete = 0x31, // 1
  BindComplete = 0x32, // 2
  CloseComplete = 0x33, // 3
  NotificationResponse = 0x41, // A
  CommandComplete = 0x43, // C
  DataRow = 0x44, // D
  ErrorResponse = 0x45, // E
  CopyInResponse = 0x47, // G
  CopyOutResponse = 0x48, // H
  EmptyQueryResponse = 0x49, // I
  BackendKeyData = 0x4b, // K
  NoticeResponse = 0x4e, // N
  Authentication = 0x52, // R
  ParameterStatus = 0x53, // S
  RowDescription = 0x54, // T
  FunctionCallResponse = 0x56, // V
  CopyBothResponse = 0x57, // W
  ReadyForQuery = 0x5a, // Z
  CopyDone = 0x63, // c
  CopyData = 0x64, // d
  NoData = 0x6e, // n
  PortalSuspended = 0x73, // s
  ParameterDescription = 0x74, // t
  NegotiateProtocolVersion = 0x76, // v
}

/** Authentication request codes carried in an 'R' message. */
export const enum AuthCode {
  Ok = 0,
  CleartextPassword = 3,
  MD5Password = 5,
  SASL = 10,
  SASLContinue = 11,
  SASLFinal = 12,
}

/** SQLSTATE codes the gateway itself reports. */
export const SqlState = {
  protocolViolation: '08P01',
  connectionFailure: '08006',
  rejectedConnection: '08004',
  invalidAuthorization: '28000',
  invalidPassword: '28P01',
  adminShutdown: '57P01',
  queryCanceled: '57014',
  tooManyConnections: '53300',
  featureNotSupported: '0A000',
  internalError: 'XX000',
} as const;
