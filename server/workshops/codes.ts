import { randomInt } from 'node:crypto';
import type { Workshop } from '../db/workshops.ts';
import type { WorkshopState } from '../vocabulary.ts';

/** Join codes and a workshop's state in time: pure, shared by the workshop rooms and LTI. */

/** Unambiguous characters for join codes people read out loud: no 0/O, 1/I/L. */
const CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';

export function newJoinCode(): string {
  const chars = Array.from({ length: 8 }, () => CODE_ALPHABET[randomInt(CODE_ALPHABET.length)] ?? 'A');
  return `${chars.slice(0, 4).join('')}-${chars.slice(4).join('')}`;
}

/** "k7m2 qx9p", "K7M2-QX9P" and "k7m2qx9p" are the same code. */
export function normalizeCode(input: string): string {
  const plain = input.toUpperCase().replace(/[^A-Z0-9]/g, '');
  return plain.length === 8 ? `${plain.slice(0, 4)}-${plain.slice(4)}` : plain;
}

/** Scheduled until it starts, running until an instructor ends it. */
export function workshopState(w: Pick<Workshop, 'state' | 'startsAt'>, now = Date.now()): WorkshopState {
  if (w.state === 'ended') return 'ended';
  return now >= Date.parse(w.startsAt) ? 'running' : 'scheduled';
}
