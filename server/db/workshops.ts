import type { Db } from './database.ts';

export interface Workshop {
  id: string;
  code: string;
  title: string;
  instructorId: string;
  lessons: string[];
  seats: number;
  sandboxSize: 'small' | 'medium' | 'large';
  startsAt: string;
  endsAt: string;
  state: 'scheduled' | 'ended';
  createdAt: string;
  endedAt: string | null;
}

interface Row {
  id: string;
  code: string;
  title: string;
  instructor_id: string;
  lessons: string;
  seats: number;
  sandbox_size: Workshop['sandboxSize'];
  starts_at: string;
  ends_at: string;
  state: Workshop['state'];
  created_at: string;
  ended_at: string | null;
}

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
  insert(w: Workshop): boolean {
    try {
      this.db
        .prepare(
          `INSERT INTO workshops (id, code, title, instructor_id, lessons, seats, sandbox_size, starts_at, ends_at, state, created_at)
           VALUES (@id, @code, @title, @instructorId, @lessons, @seats, @sandboxSize, @startsAt, @endsAt, @state, @createdAt)`,
        )
        .run({ ...w, lessons: JSON.stringify(w.lessons) });
      return true;
    } catch (error) {
      if (error instanceof Error && /UNIQUE constraint failed: workshops.code/.test(error.message)) return false;
      throw error;
    }
  }

  get(id: string): Workshop | undefined {
    const row = this.db.prepare('SELECT * FROM workshops WHERE id = ?').get(id) as Row | undefined;
    return row ? workshopOf(row) : undefined;
  }

  byCode(code: string): Workshop | undefined {
    const row = this.db.prepare('SELECT * FROM workshops WHERE code = ?').get(code) as Row | undefined;
    return row ? workshopOf(row) : undefined;
  }

  /** An instructor's workshops (every workshop for `undefined`: the admin's view), newest first. */
  list(instructorId?: string): Workshop[] {
    const rows = (
      instructorId === undefined
        ? this.db.prepare('SELECT * FROM workshops ORDER BY created_at DESC').all()
        : this.db.prepare('SELECT * FROM workshops WHERE instructor_id = ? ORDER BY created_at DESC').all(instructorId)
    ) as Row[];
    return rows.map(workshopOf);
  }

  scheduled(): Workshop[] {
    return (this.db.prepare("SELECT * FROM workshops WHERE state = 'scheduled'").all() as Row[]).map(workshopOf);
  }

  end(id: string): void {
    this.db.prepare("UPDATE workshops SET state = 'ended', ended_at = ? WHERE id = ?").run(new Date().toISOString(), id);
  }

  /** The lessons of a workshop, in order (an LMS course's room grows as links are added). */
  setLessons(id: string, lessons: string[]): void {
    this.db.prepare('UPDATE workshops SET lessons = ? WHERE id = ?').run(JSON.stringify(lessons), id);
  }

  /** Moves a workshop's end later (never earlier). */
  extendTo(id: string, endsAt: string): void {
    this.db.prepare('UPDATE workshops SET ends_at = MAX(ends_at, ?) WHERE id = ?').run(endsAt, id);
  }

  participantCount(id: string): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM learners WHERE workshop_id = ?').get(id) as { n: number }).n;
  }

  addMessage(id: string, text: string): { text: string; sentAt: string } {
    const sentAt = new Date().toISOString();
    this.db.prepare('INSERT INTO workshop_messages (workshop_id, text, sent_at) VALUES (?, ?, ?)').run(id, text, sentAt);
    return { text, sentAt };
  }

  messages(id: string): { text: string; sentAt: string }[] {
    return this.db.prepare('SELECT text, sent_at AS sentAt FROM workshop_messages WHERE workshop_id = ? ORDER BY id').all(id) as { text: string; sentAt: string }[];
  }
}
