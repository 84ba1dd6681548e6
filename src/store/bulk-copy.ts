import type { PGlite } from '@electric-sql/pglite';
import type { Pool, PoolClient } from 'pg';

/** A statement run after a COPY, in the same transaction. */
export interface FollowUp {
  text: string;
  params: unknown[];
}

/**
 * The cheapest bulk path each driver offers: `COPY <table> (<columns>) FROM STDIN` with rows in
 * COPY text format. With a follow-up statement both run in one transaction (a retried batch
 * never inserts a row twice).
 */
export interface BulkCopy {
  /** `target` is `table (col, …)`; `data` is COPY text, one line per row. */
  copyIn(target: string, data: string, then?: FollowUp): Promise<void>;
}

/** node-postgres: CopyData messages sent on a pooled connection (see CopyFromText). */
export function postgresBulkCopy(pool: Pool): BulkCopy {
  return {
    async copyIn(target, data, then) {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        if (then) await client.query('begin');
        try {
          await copyFromText(client, `COPY ${target} FROM STDIN`, Buffer.from(data, 'utf8'));
          if (then) {
            await client.query(then.text, then.params);
            await client.query('commit');
          }
        } catch (err) {
          if (then) await client.query('rollback').catch((rollbackError: Error) => (broken = rollbackError));
          throw err;
        }
      } catch (err) {
        broken ??= isConnectionError(err) ? (err as Error) : undefined;
        throw err;
      } finally {
        // A connection in an unknown state leaves the pool.
        client.release(broken);
      }
    },
  };
}

/** PGlite reads COPY data from a blob it exposes as /dev/blob. */
export function pgliteBulkCopy(client: PGlite): BulkCopy {
  return {
    async copyIn(target, data, then) {
      const copy = `COPY ${target} FROM '/dev/blob'`;
      const blob = new Blob([data]);
      if (!then) {
        await client.query(copy, [], { blob });
        return;
      }
      await client.transaction(async (tx) => {
        await tx.query(copy, [], { blob });
        await tx.query(then.text, then.params);
      });
    },
  };
}

function isConnectionError(err: unknown): boolean {
  // Errors the server reported carry a SQLSTATE; anything else concerns the connection itself.
  const code = (err as { code?: unknown } | null)?.code;
  return !(typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code));
}

/**
 * One COPY FROM STDIN as a node-postgres "submittable" (the client calls these handlers as the
 * server answers): the query, then on CopyInResponse the data as one CopyData and CopyDone.
 * The server's ErrorResponse or the connection's failure rejects; ReadyForQuery resolves.
 */
function copyFromText(client: PoolClient, text: string, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    let failed = false;
    const submittable = {
      text,
      submit(connection: CopyConnection) {
        connection.query(text);
      },
      handleCopyInResponse(connection: CopyConnection) {
        if (data.length > 0) connection.sendCopyFromChunk(data);
        connection.endCopyFrom();
      },
      handleError(err: Error) {
        failed = true;
        reject(err);
      },
      handleReadyForQuery() {
        if (!failed) resolve();
      },
      handleCommandComplete() {},
      handleEmptyQuery() {},
      handleRowDescription() {},
      handleDataRow() {},
      handlePortalSuspended() {},
      handleCopyData() {},
    };
    (client as unknown as { query(submittable: object): void }).query(submittable);
  });
}

interface CopyConnection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}
