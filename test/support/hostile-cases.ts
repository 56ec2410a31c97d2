/**
 * The hostile input corpus (test/fixtures/hostile): `cases.json` lists every case with the status the
 * product should answer by the specs. Small cases are files next to the manifest; big ones are described
 * there by a generator and built here at test time, so the folder stays small.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES_DIR } from '../../dev/fixtures.js';

export const HOSTILE_DIR = join(FIXTURES_DIR, 'hostile');
export const HOSTILE_MANIFEST = 'cases.json';

export const HOSTILE_STATUSES = [200, 400, 413, 415] as const;
export type HostileStatus = (typeof HOSTILE_STATUSES)[number];

/** Builds a body from text parts; `{i}` in `item` is the item's index (0-based). */
export type HostileGenerator =
  /** prefix + unit × count + suffix; with `totalBytes`, count is chosen so the body has exactly that size. */
  | { kind: 'repeat'; prefix?: string; unit: string; count?: number; totalBytes?: number; suffix?: string }
  /** prefix + open × depth + inner + close × depth + suffix (close omitted: left unclosed). */
  | {
      kind: 'nest';
      prefix?: string;
      open: string;
      inner?: string;
      close?: string;
      depth: number;
      suffix?: string;
    }
  /** prefix + item(0) + separator + item(1) … item(count-1) + suffix. */
  | { kind: 'numbered'; prefix?: string; item: string; separator?: string; count: number; suffix?: string }
  /** The base64 text of a fixture (path under test/fixtures), optionally wrapped like MIME. */
  | { kind: 'base64'; source: string; lineLength?: number }
  /** A fixture (path under test/fixtures) re-encoded, optionally with a byte order mark. */
  | { kind: 'encode'; source: string; encoding: 'utf8' | 'utf16le' | 'utf16be'; bom?: boolean };

export interface HostileCase {
  /** `NNN-short-name`, unique. */
  name: string;
  /** A file in test/fixtures/hostile holding the exact body. */
  file?: string;
  generate?: HostileGenerator;
  expect: HostileStatus;
  /** One line: why the spec calls for that status. */
  why: string;
}

/** Generated bodies are bounded: the largest case is 2 MiB (a 413). */
const MAX_GENERATED_BYTES = 4 * 1024 * 1024;

export function loadHostileCases(): HostileCase[] {
  const raw: unknown = JSON.parse(readFileSync(join(HOSTILE_DIR, HOSTILE_MANIFEST), 'utf8'));
  if (!Array.isArray(raw)) throw new Error(`${HOSTILE_MANIFEST} must be an array of cases`);
  return raw.map((entry, index) => checkCase(entry, index));
}

/** Files in the corpus folder other than the manifest. */
export function hostileFiles(): string[] {
  return readdirSync(HOSTILE_DIR)
    .filter((f) => f !== HOSTILE_MANIFEST)
    .sort();
}

/** The exact bytes to POST for a case. */
export function hostileBody(entry: HostileCase): Buffer {
  if (entry.file !== undefined) return readFileSync(join(HOSTILE_DIR, entry.file));
  if (entry.generate === undefined) throw new Error(`${entry.name}: neither file nor generate`);
  return generate(entry.generate, entry.name);
}

function generate(spec: HostileGenerator, name: string): Buffer {
  switch (spec.kind) {
    case 'repeat': {
      const prefix = spec.prefix ?? '';
      const suffix = spec.suffix ?? '';
      let count = spec.count ?? 0;
      if (spec.totalBytes !== undefined) {
        const unitBytes = Buffer.byteLength(spec.unit);
        const room = spec.totalBytes - Buffer.byteLength(prefix) - Buffer.byteLength(suffix);
        if (room < 0 || room % unitBytes !== 0) throw new Error(`${name}: totalBytes cannot be met`);
        count = room / unitBytes;
      }
      const body = Buffer.from(prefix + bounded(spec.unit, count, name) + suffix);
      if (spec.totalBytes !== undefined && body.length !== spec.totalBytes) {
        throw new Error(`${name}: built ${body.length} bytes, wanted ${spec.totalBytes}`);
      }
      return body;
    }
    case 'nest':
      return Buffer.from(
        (spec.prefix ?? '') +
          bounded(spec.open, spec.depth, name) +
          (spec.inner ?? '') +
          bounded(spec.close ?? '', spec.depth, name) +
          (spec.suffix ?? ''),
      );
    case 'numbered': {
      const items: string[] = [];
      for (let i = 0; i < spec.count; i++) items.push(spec.item.replaceAll('{i}', String(i)));
      return Buffer.from((spec.prefix ?? '') + items.join(spec.separator ?? ',') + (spec.suffix ?? ''));
    }
    case 'base64': {
      const text = readFileSync(join(FIXTURES_DIR, spec.source)).toString('base64');
      if (!spec.lineLength) return Buffer.from(text);
      const lines = text.match(new RegExp(`.{1,${spec.lineLength}}`, 'g')) ?? [];
      return Buffer.from(`${lines.join('\r\n')}\r\n`);
    }
    case 'encode': {
      const text = readFileSync(join(FIXTURES_DIR, spec.source), 'utf8');
      const withBom = spec.bom ? `\ufeff${text}` : text;
      if (spec.encoding === 'utf8') return Buffer.from(withBom, 'utf8');
      const le = Buffer.from(withBom, 'utf16le');
      return spec.encoding === 'utf16le' ? le : le.swap16();
    }
  }
}

function bounded(unit: string, count: number, name: string): string {
  if (!Number.isSafeInteger(count) || count < 0 || unit.length * count > MAX_GENERATED_BYTES) {
    throw new Error(`${name}: generator asks for ${count} × ${unit.length} characters`);
  }
  return unit.repeat(count);
}

const GENERATOR_KINDS = new Set(['repeat', 'nest', 'numbered', 'base64', 'encode']);

function checkCase(entry: unknown, index: number): HostileCase {
  const where = `${HOSTILE_MANIFEST}[${index}]`;
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
    throw new Error(`${where} is not an object`);
  const c = entry as Record<string, unknown>;
  if (typeof c.name !== 'string' || !/^\d{3}-[a-z0-9-]+$/.test(c.name))
    throw new Error(`${where}: name must be NNN-short-name`);
  if (!(HOSTILE_STATUSES as readonly unknown[]).includes(c.expect))
    throw new Error(`${c.name}: expect must be one of ${HOSTILE_STATUSES.join(', ')}`);
  if (typeof c.why !== 'string' || c.why.trim() === '' || /[\r\n]/.test(c.why))
    throw new Error(`${c.name}: why must be one non-empty line`);
  const hasFile = c.file !== undefined;
  const hasGenerator = c.generate !== undefined;
  if (hasFile === hasGenerator) throw new Error(`${c.name}: give exactly one of file and generate`);
  if (hasFile && (typeof c.file !== 'string' || !c.file.startsWith(`${c.name}.`)))
    throw new Error(`${c.name}: file must be named after the case`);
  if (hasGenerator) {
    const g = c.generate as Record<string, unknown> | null;
    if (typeof g !== 'object' || g === null || !GENERATOR_KINDS.has(String(g.kind)))
      throw new Error(`${c.name}: unknown generator`);
  }
  return c as unknown as HostileCase;
}
