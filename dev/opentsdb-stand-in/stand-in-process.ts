import { fileURLToPath } from 'node:url';
import { startUrlProcess, type UrlProcess } from '../url-process.js';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

export type StandInProcess = UrlProcess;

/** The strict OpenTSDB stand-in in a process of its own (main.ts), for measurements. */
export function startStandInProcess(): Promise<StandInProcess> {
  return startUrlProcess('the OpenTSDB stand-in', MAIN);
}
