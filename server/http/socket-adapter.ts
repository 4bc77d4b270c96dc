import { createAdapter } from '@socket.io/postgres-adapter';
import type { Server } from 'socket.io';
import { postgresPool } from '../db/database.ts';
import type { Logger } from '../logger.ts';

/**
 * socket.io across replicas: with PostgreSQL as the database, every replica's socket.io joins
 * one cluster over LISTEN/NOTIFY (@socket.io/postgres-adapter), so a broadcast to a room, a
 * `fetchSockets()` or a `serverSideEmit` reaches the sockets of every replica. Payloads over
 * NOTIFY's 8000 bytes go through its attachments table, whose old rows the adapter deletes on
 * its timer; socket.io's close() closes the adapters, which stops that timer and releases the
 * listening connection.
 */
export interface SocketAdapter {
  /** Makes the attachments table and attaches the adapter to every namespace (I/O: the platform's start, before listening). */
  attach(io: Server): Promise<void>;
  /** Ends the adapter's connections (after socket.io has closed). */
  close(): Promise<void>;
}

const TABLE = 'socket_io_attachments';
/** Rows older than this are deleted, every this often: a message's attachment is read within milliseconds. */
const CLEANUP_MS = 30_000;

export function postgresSocketAdapter(url: string, logger: Logger): SocketAdapter {
  const log = logger.child({ component: 'socket.io' });
  // Its own pool: one connection stays in LISTEN, the others notify and read attachments. The
  // adapter delivers even a local broadcast only after its NOTIFY: with 4 connections, 200
  // checks finishing at once put the grid p99 at 9.5 s (bench:scale); with 16, 154 ms.
  const pool = postgresPool(url, 'kubedojo-socket.io', 16);
  const onError = (error: Error) => {
    log.warn({ err: error }, 'a socket.io PostgreSQL connection failed');
  };
  pool.on('error', onError);
  return {
    async attach(io) {
      try {
        // The adapter's documented table (https://socket.io/docs/v4/postgres-adapter/).
        await pool.query(`CREATE TABLE IF NOT EXISTS ${TABLE} (id bigserial UNIQUE, created_at timestamptz DEFAULT NOW(), payload bytea)`);
      } catch (error) {
        // Two replicas starting together: the other one made it (duplicate type or table).
        const code = (error as { code?: unknown }).code;
        if (code !== '23505' && code !== '42P07') throw error;
      }
      io.adapter(createAdapter(pool, { tableName: TABLE, cleanupInterval: CLEANUP_MS, errorHandler: onError }));
      log.info('socket.io shares rooms with the other replicas through PostgreSQL');
    },
    async close() {
      await pool.end();
      pool.off('error', onError);
    },
  };
}
