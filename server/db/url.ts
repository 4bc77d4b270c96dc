import { z } from 'zod';

/** Where the platform's data lives: the SQLite file in the data directory, or a PostgreSQL server. */
export type DatabaseTarget = { dialect: 'sqlite'; file: string } | { dialect: 'postgres'; url: string };

/** The URL with its password replaced, for logs and messages: a password is never printed. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password !== '') url.password = '***';
    // libpq also takes the password as a query parameter.
    if (url.searchParams.has('password')) url.searchParams.set('password', '***');
    return url.toString();
  } catch {
    return raw.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@');
  }
}

export const describeDatabase = (target: DatabaseTarget): string => (target.dialect === 'sqlite' ? `SQLite ${target.file}` : `PostgreSQL ${redactUrl(target.url)}`);

/** --database-url: postgres:// or postgresql:// with a host; unset means the SQLite file. */
export const databaseUrlSchema = z
  .string()
  .trim()
  .refine((value) => URL.canParse(value), { error: 'must be a URL such as postgres://kubedojo:secret@db:5432/kubedojo' })
  .refine((value) => !URL.canParse(value) || ['postgres:', 'postgresql:'].includes(new URL(value).protocol), { error: 'must be a postgres:// or postgresql:// URL (unset: the SQLite file in the data directory)' })
  .refine((value) => !URL.canParse(value) || new URL(value).hostname !== '' || new URL(value).searchParams.has('host'), { error: 'must name the server, as in postgres://user@host:5432/database' })
  .optional();
