// Runs the test suite with Node's built-in runner. Node 20 does not expand globs itself,
// so the files are listed here. `npm test -- unit` runs only test/unit, and so on.
// The suite runs on the Node that runs this script (test files and the processes they start use
// process.execPath): `npm run test:node24` runs it on .ci/node24's Node 24, the Lambda runtime.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const roots =
  process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['unit', 'integration', 'infra', 'e2e'];

function testFiles(dir) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(path);
    return entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

const files = roots.flatMap((root) => testFiles(join('test', root))).sort();
if (files.length === 0) {
  console.error(`no test files under ${roots.map((r) => `test/${r}`).join(', ')}`);
  process.exit(1);
}
// So that a log says which Node the summary at its end belongs to.
console.log(`# node ${process.version}: ${files.length} test files`);
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], {
  stdio: 'inherit',
  // The SDK warns on Node 20 that it will soon want 22; the Lambdas run 24, the tests must also pass on 20.
  env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...process.env },
});
process.exit(result.status ?? 1);
