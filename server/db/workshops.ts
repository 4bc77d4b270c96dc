import { sql, type Selectable } from 'kysely';
import type { SandboxSize } from '../vocabulary.ts';
import type { Db } from './database.ts';
import type { Database } from './schema.ts';

export interface Workshop {
  id: string;
  code: string;
  title: string;
  instructorId: string;
  lessons: string[];
  seats: number;
  sandboxSize: SandboxSize;
  startsAt: string;
  endsAt: string;
  state: 'scheduled' | 'ended';
  createdAt: string;
  endedAt: string | null;
}

/** A workshops row as stored (the table's type in schema.ts). */
type Row = Selectable<Database['workshops']>;

function workshopOf(row: Row): Workshop {
  return {
    id: row.id,
    code: row.code,
    title: row.title,
    instructorId: row.instructor_id,
    lessons: JSON.parse(row.lessons) as string[],
    seats: row.seats,
    sandboxSize: row.sandbox_size,
    startsAt: row.starts_at,
    endsAt: row.ends_at,
    state: row.state,
    createdAt: row.created_at,
    endedAt: row.ended_at,
  };
}

/** Workshops and what their instructors broadcast. */
export class WorkshopRepository {
  private readonly db: Db;
  constructor(db: Db) {
    this.db = db;
  }

  /** Inserts a workshop; false when the join code is already taken (the caller draws another). */
  async insert(w: Workshop): Promise<boolean> {
    const result = await this.db
      .insertInto('workshops')
      .values({
        id: w.id,
        code: w.code,
        title: w.title,
        instructor_id: w.instructorId,
        lessons: JSON.stringify(w.lessons),
        seats: w.seats,
        sandbox_size: w.sandboxSize,
        starts_at: w.startsAt,
        ends_at: w.endsAt,
        state: w.state,
        created_at: w.createdAt,
      })
      .onConflict((oc) => oc.column('code').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
  }

  async get(id: string): Promise<Workshop | undefined> {
    const row = await this.db.selectFrom('workshops').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? workshopOf(row) : undefined;
  }

  async byCode(code: string): Promise<Workshop | undefined> {
    const row = await this.db.selectFrom('workshops').selectAll().where('code', '=', code).executeTakeFirst();
    return row ? workshopOf(row) : undefined;
  }

  /** An instructor's workshops (every workshop for `undefined`: the admin's view), newest first. */
  async list(instructorId?: string): Promise<Workshop[]> {
    let query = this.db.selectFrom('workshops').selectAll().orderBy('created_at', 'desc');
    if (instructorId !== undefined) query = query.where('instructor_id', '=', instructorId);
    return (await query.execute()).map(workshopOf);
  }

  async scheduled(): Promise<Workshop[]> {
    return (await this.db.selectFrom('workshops').selectAll().where('state', '=', 'scheduled').execute()).map(workshopOf);
  }

  async end(id: string): Promise<void> {
    await this.db.updateTable('workshops').set({ state: 'ended', ended_at: new Date().toISOString() }).where('id', '=', id).execute();
  }

  /** The lessons of a workshop, in order (an LMS course's room grows as links are added). */
  async setLessons(id: string, lessons: string[]): Promise<void> {
    await this.db.updateTable('workshops').set({ lessons: JSON.stringify(lessons) }).where('id', '=', id).execute();
  }

  /** Moves a workshop's end later (never earlier). */
  async extendTo(id: string, endsAt: string): Promise<void> {
    // CASE rather than SQLite's two-argument MAX (PostgreSQL's is GREATEST): one statement for both.
    await this.db
      .updateTable('workshops')
      .set({ ends_at: sql<string>`CASE WHEN ends_at < ${endsAt} THEN ${endsAt} ELSE ends_at END` })
      .where('id', '=', id)
      .execute();
  }

  async participantCount(id: string): Promise<number> {
    const { n } = await this.db.selectFrom('learners').select((eb) => eb.fn.countAll<number>().as('n')).where('workshop_id', '=', id).executeTakeFirstOrThrow();
    return n;
  }

  async addMessage(id: string, text: string): Promise<{ text: string; sentAt: string }> {
    const sentAt = new Date().toISOString();
    await this.db.insertInto('workshop_messages').values({ workshop_id: id, text, sent_at: sentAt }).execute();
    return { text, sentAt };
  }

  messages(id: string): Promise<{ text: string; sentAt: string }[]> {
    return this.db.selectFrom('workshop_messages').select(['text', 'sent_at as sentAt']).where('workshop_id', '=', id).orderBy('id').execute();
  }
}
