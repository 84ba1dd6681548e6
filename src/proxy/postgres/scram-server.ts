import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { serverSignature, verifyClientProof } from '../../core/scram.js';

/**
 * The server side of SCRAM-SHA-256 (RFC 5802 / 7677) as PostgreSQL frames it, proving an
 * identity token without ever having it: each live token of the identity contributes its
 * StoredKey/ServerKey, and the client's proof is checked against each. With TLS the server
 * also offers SCRAM-SHA-256-PLUS (channel binding `tls-server-end-point`), which ties the
 * proof to the gateway's certificate.
 */
export const SCRAM = 'SCRAM-SHA-256';
export const SCRAM_PLUS = 'SCRAM-SHA-256-PLUS';

export interface ScramVerifier {
  tokenId: string;
  storedKey: Buffer;
  serverKey: Buffer;
}

export type ScramResult = { ok: true; tokenId: string; serverFinal: string } | { ok: false; reason: string };

export class ScramProtocolError extends Error {}

export class ScramServer {
  private clientFirstBare = '';
  private serverFirst = '';
  private gs2Header = '';
  private nonce = '';
  private lastAuthMessage = '';
  private lastProof: Buffer = Buffer.alloc(0);

  constructor(
    private readonly options: {
      salt: Buffer;
      iterations: number;
      verifiers: ScramVerifier[];
      /** tls-server-end-point data when the connection is TLS (PLUS offered), else null. */
      channelBinding: Buffer | null;
    },
  ) {}

  mechanisms(): string[] {
    return this.options.channelBinding ? [SCRAM_PLUS, SCRAM] : [SCRAM];
  }

  /** Takes the SASLInitialResponse, returns server-first-message. */
  start(mechanism: string, clientFirst: string): string {
    if (!this.mechanisms().includes(mechanism)) throw new ScramProtocolError(`unsupported SASL mechanism "${mechanism}"`);
    const match = /^(n|y|p=([A-Za-z0-9.-]+)),(a=[^,]*)?,(.*)$/.exec(clientFirst);
    if (!match) throw new ScramProtocolError('malformed SCRAM client-first-message');
    const flag = match[1]!;
    if (mechanism === SCRAM_PLUS) {
      if (match[2] !== 'tls-server-end-point') throw new ScramProtocolError(`unsupported channel binding type "${match[2] ?? flag}"`);
    } else if (flag.startsWith('p=')) {
      throw new ScramProtocolError('the client asked for channel binding without selecting SCRAM-SHA-256-PLUS');
    } else if (flag === 'y' && this.options.channelBinding) {
      // The client thinks the server cannot bind the channel, but it can: a downgrade (RFC 5802 §6).
      throw new ScramProtocolError('channel binding downgrade detected');
    }
    this.gs2Header = clientFirst.slice(0, clientFirst.length - match[4]!.length);
    this.clientFirstBare = match[4]!;
    const attributes = parseAttributes(this.clientFirstBare);
    const clientNonce = attributes.get('r');
    if (!clientNonce || !/^[\x21-\x2b\x2d-\x7e]+$/.test(clientNonce)) throw new ScramProtocolError('malformed SCRAM client nonce');
    if (this.clientFirstBare.startsWith('m=')) throw new ScramProtocolError('SCRAM extensions are not supported');
    this.nonce = clientNonce + randomBytes(18).toString('base64');
    this.serverFirst = `r=${this.nonce},s=${this.options.salt.toString('base64')},i=${this.options.iterations}`;
    return this.serverFirst;
  }

  /** Takes client-final-message; on success returns the token that proved it and server-final-message. */
  finish(clientFinal: string): ScramResult {
    const proofAt = clientFinal.lastIndexOf(',p=');
    if (proofAt < 0) throw new ScramProtocolError('malformed SCRAM client-final-message');
    const withoutProof = clientFinal.slice(0, proofAt);
    const attributes = parseAttributes(withoutProof);
    const proof = Buffer.from(clientFinal.slice(proofAt + 3), 'base64');
    if (attributes.get('r') !== this.nonce) throw new ScramProtocolError('SCRAM nonce mismatch');
    const binding = Buffer.from(attributes.get('c') ?? '', 'base64');
    const expected = Buffer.concat([
      Buffer.from(this.gs2Header, 'utf8'),
      this.gs2Header.startsWith('p=') && this.options.channelBinding ? this.options.channelBinding : Buffer.alloc(0),
    ]);
    if (binding.length !== expected.length || !timingSafeEqual(binding, expected)) {
      return { ok: false, reason: 'SCRAM channel binding check failed' };
    }
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    this.lastAuthMessage = authMessage;
    this.lastProof = proof;
    for (const verifier of this.options.verifiers) {
      if (verifyClientProof(verifier.storedKey, authMessage, proof)) {
        return { ok: true, tokenId: verifier.tokenId, serverFinal: `v=${serverSignature(verifier.serverKey, authMessage).toString('base64')}` };
      }
    }
    return { ok: false, reason: this.options.verifiers.length === 0 ? 'no live token' : 'the proof matches no live token' };
  }

  /** After a failure: which of these (revoked or expired) tokens the client used, if any. */
  explain(candidates: Array<ScramVerifier & { reason: string }>): string | null {
    for (const candidate of candidates) {
      if (verifyClientProof(candidate.storedKey, this.lastAuthMessage, this.lastProof)) return candidate.reason;
    }
    return null;
  }
}

/** A stable per-name salt for identities that do not exist, so a probe cannot tell them apart. */
export function mockSalt(secret: Buffer, name: string): Buffer {
  return createHmac('sha256', secret).update(name).digest().subarray(0, 16);
}

function parseAttributes(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of text.split(',')) {
    if (part.length >= 2 && part[1] === '=') out.set(part[0]!, part.slice(2));
  }
  return out;
}
