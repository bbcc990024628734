// Preloaded (`node --import`) into a child process whose memory a test bounds: at exit it
// writes the process's own peak resident set (VmHWM of /proc/self/status) as the last stderr line.
import { readFileSync } from 'node:fs';

process.on('exit', () => {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  process.stderr.write(`\nPEAK_RSS_KB=${match ? match[1] : '-1'}\n`);
});
