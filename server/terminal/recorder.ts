import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Db } from '../db/database.ts';

/**
 * Records a terminal session as asciicast v2 (newline-delimited JSON: a header, then
 * [seconds, "o" | "r" | "m", data] events), with an index row in the database. Input is not
 * recorded: what learners type may include secrets; what the terminal shows is the lesson.
 * A sandbox's recordings together hold at most `maxBytesPerSandbox`: at the cap a recording
 * ends its output with a note, so `yes` in a terminal cannot fill the disk.
 */

export const DEFAULT_RECORDING_MAX_BYTES = 20 * 1024 * 1024;

export interface RecordingMeta {
  namespace: string;
  learnerKey: string;
  lesson: string;
  cols: number;
  rows: number;
}

export interface Recording {
  id: string;
  output(chunk: Buffer): void;
  resize(cols: number, rows: number): void;
  marker(label: string): void;
  end(): Promise<void>;
}

export interface RecordingRow {
  id: string;
  namespace: string;
  learnerKey: string;
  lesson: string;
  /** Relative to the recordings directory (absolute for recordings made before): see `fileOf`. */
  path: string;
  bytes: number;
  startedAt: string;
  endedAt: string | null;
  /** The replica that wrote the file into its data directory (null for recordings older than that). */
  replica: string | null;
}

const COLUMNS = ['id', 'namespace', 'learner_key as learnerKey', 'lesson', 'path', 'bytes', 'started_at as startedAt', 'ended_at as endedAt', 'replica'] as const;

export class RecordingStore {
  private readonly db: Db;
  readonly dir: string;

  readonly maxBytesPerSandbox: number;
  /** This server's replica identity, noted on each recording it writes (a replay elsewhere can say where the file is). */
  readonly replica: string | null;

  constructor(db: Db, dir: string, maxBytesPerSandbox = DEFAULT_RECORDING_MAX_BYTES, replica: string | null = null) {
    this.db = db;
    this.dir = dir;
    this.maxBytesPerSandbox = maxBytesPerSandbox;
    this.replica = replica;
  }

  /** Bytes the finished recordings of a sandbox hold. */
  private async usedBy(namespace: string): Promise<number> {
    const row = await this.db.selectFrom('recordings').select((eb) => eb.fn.coalesce(eb.fn.sum<number | string>('bytes'), eb.lit(0)).as('n')).where('namespace', '=', namespace).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async start(meta: RecordingMeta): Promise<Recording> {
    const budget = this.maxBytesPerSandbox - (await this.usedBy(meta.namespace));
    const id = randomUUID();
    const started = Date.now();
    const startedAt = new Date(started).toISOString();
    const file = path.join(this.dir, meta.namespace, `${startedAt.replace(/[:.]/g, '-')}-${id.slice(0, 8)}.cast`);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const stream = fs.createWriteStream(file, { mode: 0o600 });
    const decoder = new TextDecoder('utf-8', { fatal: false });
    const header = `${JSON.stringify({ version: 2, width: meta.cols, height: meta.rows, timestamp: Math.floor(started / 1000), env: { TERM: 'xterm-256color', SHELL: '/bin/bash' }, title: `${meta.namespace} (${meta.lesson})` })}\n`;
    let bytes = Buffer.byteLength(header);
    let full = false;
    const event = (type: string, data: string) => {
      if (full) return;
      const line = `${JSON.stringify([Number(((Date.now() - started) / 1000).toFixed(6)), type, data])}\n`;
      const size = Buffer.byteLength(line);
      if (bytes + size > budget - 512) {
        // The note fits in the 512 bytes kept back, so the file never passes the cap.
        full = true;
        const cap = `${Math.round(this.maxBytesPerSandbox / 1024 / 1024)} MiB`;
        const note = `${JSON.stringify([Number(((Date.now() - started) / 1000).toFixed(6)), 'm', `recording stopped: this sandbox's recordings reached their cap of ${cap}`])}\n`;
        bytes += Buffer.byteLength(note);
        stream.write(note);
        return;
      }
      bytes += size;
      stream.write(line);
    };
    stream.write(header);
    try {
      await this.db.insertInto('recordings').values({ id, namespace: meta.namespace, learner_key: meta.learnerKey, lesson: meta.lesson, path: path.relative(this.dir, file), cols: meta.cols, rows: meta.rows, bytes: 0, started_at: startedAt, replica: this.replica }).execute();
    } catch (error) {
      stream.destroy();
      await fsp.rm(file, { force: true });
      throw error;
    }
    let ended = false;
    return {
      id,
      output: (chunk) => {
        if (ended) return;
        // A UTF-8 character split across chunks is kept whole by the streaming decoder.
        const text = decoder.decode(chunk, { stream: true });
        if (text) event('o', text);
      },
      resize: (cols, rows) => {
        if (!ended) event('r', `${cols}x${rows}`);
      },
      marker: (label) => {
        if (!ended) event('m', label);
      },
      end: async () => {
        if (ended) return;
        ended = true;
        await new Promise<void>((resolve) => stream.end(resolve));
        // A session can end after the server has closed its database (shutdown): the file is
        // whole, and only the row's end time and size are not written.
        await this.db
          .updateTable('recordings')
          .set({ ended_at: new Date().toISOString(), bytes })
          .where('id', '=', id)
          .execute()
          .catch(() => undefined);
      },
    };
  }

  /**
   * Where a recording's file is on this server: under its own recordings directory, so a replica
   * that does not share the writer's data directory looks in its own and finds nothing, whatever
   * the path was on the writer's machine.
   */
  fileOf(row: Pick<RecordingRow, 'path'>): string {
    return path.resolve(this.dir, row.path);
  }

  byLearner(learnerKey: string): Promise<RecordingRow[]> {
    return this.db.selectFrom('recordings').select(COLUMNS).where('learner_key', '=', learnerKey).orderBy('started_at', 'desc').limit(200).execute();
  }

  get(id: string): Promise<RecordingRow | undefined> {
    return this.db.selectFrom('recordings').select(COLUMNS).where('id', '=', id).executeTakeFirst();
  }

  /** Deletes recordings older than the retention period, files and rows. */
  async prune(retentionDays: number, now = Date.now()): Promise<number> {
    const cutoff = new Date(now - retentionDays * 86_400_000).toISOString();
    const old = await this.db.selectFrom('recordings').select(['id', 'path']).where('started_at', '<', cutoff).execute();
    for (const row of old) {
      await fsp.rm(this.fileOf(row), { force: true });
      await this.db.deleteFrom('recordings').where('id', '=', row.id).execute();
    }
    return old.length;
  }
}
