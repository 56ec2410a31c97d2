// A TypeScript server in a process of its own that prints its URL as the first line of stdout (the
// OpenTSDB stand-in's main.ts, the drain benchmark's poison proxy): for measurements, where the server's
// CPU must not count as the measured code's.
import { spawn } from 'node:child_process';

export interface UrlProcess {
  url: string;
  close(): Promise<void>;
}

/** Runs `script` (with `args`) under tsx on this Node; resolves once it has printed its URL. */
export async function startUrlProcess(
  label: string,
  script: string,
  args: string[] = [],
): Promise<UrlProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  const url = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const line = text.split('\n')[0];
      if (text.includes('\n') && line) resolve(line.trim());
    });
    child.once('exit', (code) => reject(new Error(`${label} exited with ${code}`)));
  });
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
