/**
 * What a write into a learner's home did, whichever backend holds the home: written, refused
 * because the file exists (and no overwrite was asked), or refused because the path runs through
 * a symbolic link that leads out of the home (`linkOutside`: that link, relative to the home).
 * The sandbox side (Save to my home) asks; the terminal side writes.
 */
export type HomeWrite = 'written' | 'exists' | { linkOutside: string };
