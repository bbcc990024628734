/**
 * Shared memory between two processes on one machine, for the data plane's bulk payloads (as
 * NCCL's SHM transport): a file in /dev/shm mapped by both with mmap(2), called through koffi.
 * Why: over a Unix socket every byte is copied twice by the kernel (into the socket, out of
 * it); through a shared slot the sender copies once and the receiver adds straight from it.
 * Linux only (glibc's libc.so.6); elsewhere `sharedMemory()` returns undefined and the data
 * plane keeps its payloads on the socket. `NER_LAUNCH_SHM=0` turns it off (like NCCL_SHM_DISABLE).
 */
import { closeSync, fstatSync, openSync, unlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { log } from '@ner-launch/common';

/** Where the regions' files live (a tmpfs: memory, never written to disk). */
export const SHARED_MEMORY_DIR = '/dev/shm';
const PREFIX = 'ner-launch-';
const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 1;
const MAP_FAILED = (1n << 64n) - 1n;

/** A mapped region; `bytes` must not be touched after `unmap`. */
export interface SharedRegion {
  readonly bytes: Uint8Array;
  unmap(): void;
}

/** What the data plane needs from the operating system. */
export interface SharedMemory {
  /** Creates a file of `size` bytes (mode 0600) and maps it read-write. */
  create(size: number): { name: string; region: SharedRegion };
  /** Maps the file `name` that a peer created (read-only), checking it holds `size` bytes. */
  open(name: string, size: number): SharedRegion;
  /** Removes the file's name (the mappings stay valid until unmapped). */
  remove(name: string): void;
}

type Mmap = (
  addr: null,
  length: number,
  prot: number,
  flags: number,
  fd: number,
  offset: number,
) => unknown;
type Munmap = (addr: unknown, length: number) => number;
type Fallocate = (fd: number, offset: number, length: number) => number;

let loaded: Promise<SharedMemory | undefined> | undefined;

/** The shared-memory calls of this platform, or undefined where they are unavailable or turned off. */
export function sharedMemory(): Promise<SharedMemory | undefined> {
  if (process.env.NER_LAUNCH_SHM === '0' || process.platform !== 'linux')
    return Promise.resolve(undefined);
  loaded ??= load().catch((error: unknown) => {
    log.debug(
      `data plane: no shared memory (${(error as Error).message}); payloads go over sockets`,
    );
    return undefined;
  });
  return loaded;
}

async function load(): Promise<SharedMemory> {
  const { default: koffi } = await import('koffi');
  const libc = koffi.load('libc.so.6');
  const mmap = libc.func(
    'void *mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)',
  ) as Mmap;
  const munmap = libc.func('int munmap(void *addr, size_t length)') as Munmap;
  const fallocate = libc.func(
    'int posix_fallocate(int fd, int64_t offset, int64_t length)',
  ) as Fallocate;

  const map = (path: string, size: number, writable: boolean): SharedRegion => {
    const fd = openSync(path, writable ? 'r+' : 'r');
    try {
      const have = fstatSync(fd).size;
      // Touching a mapped page past the file's end raises SIGBUS: check before mapping.
      if (have < size)
        throw new Error(`shared memory file ${path} holds ${have} bytes, expected ${size}`);
      const prot = writable ? PROT_READ | PROT_WRITE : PROT_READ;
      const address = mmap(null, size, prot, MAP_SHARED, fd, 0);
      if (address === null || koffi.address(address) === MAP_FAILED)
        throw new Error(`mmap of ${path} (${size} bytes) failed`);
      const bytes = new Uint8Array(koffi.view(address, size));
      let mapped = true;
      return {
        bytes,
        unmap: () => {
          if (mapped) munmap(address, size);
          mapped = false;
        },
      };
    } finally {
      closeSync(fd);
    }
  };

  return {
    create(size) {
      const name = `${PREFIX}${process.pid}-${randomBytes(8).toString('hex')}`;
      const path = `${SHARED_MEMORY_DIR}/${name}`;
      const fd = openSync(path, 'wx', 0o600);
      // Reserved now, not on first touch: a full /dev/shm (containers default to 64 MB) must
      // fail here with an error, not later with SIGBUS in the middle of a collective.
      const failed = fallocate(fd, 0, size);
      closeSync(fd);
      if (failed !== 0) {
        unlinkSync(path);
        throw new Error(`cannot reserve ${size} bytes in ${SHARED_MEMORY_DIR} (errno ${failed})`);
      }
      try {
        return { name, region: map(path, size, true) };
      } catch (error) {
        unlinkSync(path);
        throw error;
      }
    },
    open(name, size) {
      if (!isRegionName(name)) throw new Error(`'${name}' is not a ner-launch shared memory name`);
      return map(`${SHARED_MEMORY_DIR}/${name}`, size, false);
    },
    remove(name) {
      if (!isRegionName(name)) return;
      try {
        unlinkSync(`${SHARED_MEMORY_DIR}/${name}`);
      } catch {
        // Already removed by the peer.
      }
    },
  };
}

/** Names `create` makes: a peer cannot point this process at another file. */
function isRegionName(name: string): boolean {
  return /^ner-launch-\d+-[0-9a-f]{16}$/.test(name);
}
