// Counts the process's open TCP connections on one local port by peer address, through Deno FFI:
// libzmq tells a ROUTER's owner neither a connection's descriptor nor its peer address.
//
// Why FFI: zeromq.js's socket monitor drops the descriptor libzmq puts in its accept/disconnect
// events (src/observer.cc), and Deno asks for --allow-all to list /proc/self/fd; libc's opendir,
// getsockname, getpeername and getnameinfo (as libzmq itself names ZAP addresses) need neither.

const AF_INET = 2;
const AF_INET6 = 10;
/** getnameinfo flag: the address as digits, never a DNS name (what libzmq hands ZAP). */
const NI_NUMERICHOST = 1;
/** Offset of d_name in glibc's struct dirent on 64-bit Linux (d_ino 8, d_off 8, d_reclen 2, d_type 1). */
const DIRENT_NAME_OFFSET = 19;
/** Room for any sockaddr (sockaddr_storage is 128 bytes). */
const SOCKADDR_BYTES = 128;
/** Room for the longest numeric host getnameinfo writes (NI_MAXHOST is 1025; numeric ones are short). */
const HOST_BYTES = 64;

const SYMBOLS = {
  opendir: { parameters: ["buffer"], result: "pointer" },
  readdir: { parameters: ["pointer"], result: "pointer" },
  closedir: { parameters: ["pointer"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  getpeername: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  getnameinfo: {
    parameters: ["buffer", "u32", "buffer", "u32", "buffer", "u32", "i32"],
    result: "i32",
  },
} as const;

let libc: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;
const FD_FOLDER = new TextEncoder().encode("/proc/self/fd\0");
const address = new Uint8Array(SOCKADDR_BYTES);
const length = new Uint32Array(1);
const host = new Uint8Array(HOST_BYTES);
const decoder = new TextDecoder();

/**
 * How many open TCP connections of this process have `localPort` as their local port, by peer
 * address, spelled as libzmq spells it in ZAP requests ("127.0.0.1", "::1"). Listening sockets and
 * connections on other ports are left out. Costs two system calls per open descriptor.
 *
 * @example
 * ```ts
 * import { peersOnPort } from "./peer_sockets.ts";
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * peersOnPort(listener.addr.port); // Map {} until someone connects
 * listener.close();
 * ```
 */
export function peersOnPort(localPort: number): Map<string, number> {
  libc ??= Deno.dlopen("libc.so.6", SYMBOLS);
  const lib = libc.symbols;
  const counts = new Map<string, number>();
  const folder = lib.opendir(FD_FOLDER);
  if (folder === null) throw new Error("Cannot list this process's descriptors in /proc/self/fd");
  try {
    for (let entry = lib.readdir(folder); entry !== null; entry = lib.readdir(folder)) {
      const name = new Deno.UnsafePointerView(entry).getCString(DIRENT_NAME_OFFSET);
      const fd = Number(name);
      if (!Number.isInteger(fd) || name === "") continue; // "." and ".."
      const peer = peerOf(lib, fd, localPort);
      if (peer !== undefined) counts.set(peer, (counts.get(peer) ?? 0) + 1);
    }
  } finally {
    lib.closedir(folder);
  }
  return counts;
}

/** The peer address of `fd` when it is a connected TCP socket on `localPort`. */
function peerOf(
  lib: Deno.DynamicLibrary<typeof SYMBOLS>["symbols"],
  fd: number,
  localPort: number,
): string | undefined {
  length[0] = SOCKADDR_BYTES;
  if (lib.getsockname(fd, address, length) !== 0) return undefined; // not a socket
  const family = address[0] | (address[1] << 8);
  if (family !== AF_INET && family !== AF_INET6) return undefined;
  if (((address[2] << 8) | address[3]) !== localPort) return undefined;
  length[0] = SOCKADDR_BYTES;
  if (lib.getpeername(fd, address, length) !== 0) return undefined; // a listener
  if (family === AF_INET) return `${address[4]}.${address[5]}.${address[6]}.${address[7]}`;
  if (lib.getnameinfo(address, length[0], host, HOST_BYTES, null, 0, NI_NUMERICHOST) !== 0) {
    return undefined;
  }
  const end = host.indexOf(0);
  return decoder.decode(host.subarray(0, end < 0 ? HOST_BYTES : end));
}
