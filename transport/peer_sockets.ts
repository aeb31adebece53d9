// Lists the process's open TCP connections on one local port (peer address, idle time) and shuts
// chosen ones down, through Deno FFI: zeromq.js tells a ROUTER's owner neither descriptor nor address.
//
// Why FFI: zeromq.js's socket monitor drops the descriptor libzmq puts in its accept/disconnect
// events (src/observer.cc), and Deno asks for --allow-all to list /proc/self/fd; libc's opendir,
// getsockname, getpeername and getnameinfo (as libzmq itself names ZAP addresses) need neither.
// Shutting a connection down (never closing it: libzmq owns the descriptor) makes libzmq read EOF
// and end that one connection through its ordinary path.

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
/** getsockopt level and option for struct tcp_info (linux/in.h IPPROTO_TCP, linux/tcp.h TCP_INFO). */
const IPPROTO_TCP = 6;
const TCP_INFO = 11;
/** Room for struct tcp_info (about 240 bytes in 6.x kernels; the kernel copies what fits). */
const TCP_INFO_BYTES = 256;
/** tcpi_state is the struct's first byte; TCP_ESTABLISHED is 1 (include/net/tcp_states.h). */
const TCP_ESTABLISHED = 1;
/**
 * tcpi_last_data_recv, milliseconds since data last arrived, is the u32 at byte 52 of struct
 * tcp_info (include/uapi/linux/tcp.h: eight u8 fields, then u32 rto, ato, snd_mss, rcv_mss,
 * unacked, sacked, lost, retrans, fackets, last_data_sent, last_ack_sent, last_data_recv), so the
 * 14th u32. For a connection that never sent data, it counts from the connection's start.
 */
const LAST_DATA_RECV_WORD = 52 / 4;
/** shutdown()'s "both directions" (sys/socket.h). */
const SHUT_RDWR = 2;

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
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
} as const;

let libc: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;
const FD_FOLDER = new TextEncoder().encode("/proc/self/fd\0");
const addressBytes = new Uint8Array(SOCKADDR_BYTES);
const length = new Uint32Array(1);
const host = new Uint8Array(HOST_BYTES);
const decoder = new TextDecoder();
const tcpInfo = new Uint32Array(TCP_INFO_BYTES / 4); // host byte order, as the kernel writes it
const tcpInfoBytes = new Uint8Array(tcpInfo.buffer);
type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** An established TCP connection of this process. */
export interface PeerConnection {
  /** Its descriptor, to name it to `shutdownConnection`. */
  fd: number;
  /** Its peer address, spelled as libzmq spells it in ZAP requests. */
  address: string;
  /**
   * Its peer address and port ("192.0.2.7:50312", "[::1]:50312"): no two open connections on one
   * local port share it, so it tells a descriptor number reused by a later connection.
   */
  peer: string;
  /** Milliseconds since data last arrived on it (since it opened if none ever did). */
  idleMs: number;
}

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
  const counts = new Map<string, number>();
  eachDescriptor((lib, fd) => {
    const peer = peerOf(lib, fd, localPort);
    if (peer !== undefined) counts.set(peer, (counts.get(peer) ?? 0) + 1);
  });
  return counts;
}

/**
 * The established TCP connections on `localPort`, with how long each has received no data (the
 * kernel's tcpi_last_data_recv; ZMTP heartbeats and any frame count as data). Costs two system
 * calls per open descriptor, four per connection on the port.
 *
 * @example
 * ```ts
 * import { connectionsOnPort } from "./peer_sockets.ts";
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * connectionsOnPort(listener.addr.port); // [] until someone connects
 * listener.close();
 * ```
 */
export function connectionsOnPort(localPort: number): PeerConnection[] {
  const found: PeerConnection[] = [];
  eachDescriptor((lib, fd) => {
    const idleMs = idleFor(lib, fd, localPort);
    if (idleMs === undefined) return;
    const address = peerOf(lib, fd, localPort);
    if (address !== undefined) found.push({ fd, address, peer: peerText(address), idleMs });
  });
  return found;
}

/**
 * Shuts down (both directions, without closing the descriptor) `connection` when its descriptor
 * still holds it, an established TCP connection on `localPort` from the same peer address and
 * port: checked again first, as libzmq may have closed it since the scan and reused the number.
 * Returns whether it did.
 */
export function shutdownConnection(
  connection: Pick<PeerConnection, "fd" | "peer">,
  localPort: number,
): boolean {
  const lib = openLibc();
  const { fd } = connection;
  if (idleFor(lib, fd, localPort) === undefined) return false;
  const address = peerOf(lib, fd, localPort);
  if (address === undefined || peerText(address) !== connection.peer) return false;
  return lib.shutdown(fd, SHUT_RDWR) === 0;
}

/**
 * The peer address of the TCP connection `fd` names when it is one on `localPort`, spelled as
 * libzmq spells it in ZAP requests; undefined otherwise.
 */
export function peerAddress(fd: number, localPort: number): string | undefined {
  return peerOf(openLibc(), fd, localPort);
}

/**
 * Shuts down (both directions, without closing the descriptor) every established TCP connection on
 * `localPort` whose peer address `matches`: libzmq then ends each as a lost connection. Returns how
 * many it shut down.
 *
 * @example
 * ```ts
 * import { shutdownPeers } from "./peer_sockets.ts";
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * shutdownPeers(listener.addr.port, (address) => address === "192.0.2.7"); // 0: nobody connected
 * listener.close();
 * ```
 */
export function shutdownPeers(localPort: number, matches: (address: string) => boolean): number {
  let shut = 0;
  eachDescriptor((lib, fd) => {
    if (idleFor(lib, fd, localPort) === undefined) return; // not an established connection here
    const peer = peerOf(lib, fd, localPort);
    if (peer !== undefined && matches(peer) && lib.shutdown(fd, SHUT_RDWR) === 0) shut++;
  });
  return shut;
}

function openLibc(): Libc {
  libc ??= Deno.dlopen("libc.so.6", SYMBOLS);
  return libc.symbols;
}

/** Calls `visit` with each of this process's open descriptors. */
function eachDescriptor(visit: (lib: Libc, fd: number) => void): void {
  const lib = openLibc();
  const folder = lib.opendir(FD_FOLDER);
  if (folder === null) throw new Error("Cannot list this process's descriptors in /proc/self/fd");
  try {
    for (let entry = lib.readdir(folder); entry !== null; entry = lib.readdir(folder)) {
      const name = new Deno.UnsafePointerView(entry).getCString(DIRENT_NAME_OFFSET);
      const fd = Number(name);
      if (!Number.isInteger(fd) || name === "") continue; // "." and ".."
      visit(lib, fd);
    }
  } finally {
    lib.closedir(folder);
  }
}

/** Whether `fd` is a TCP/IP socket whose local port is `localPort` (fills `address`). */
function onPort(lib: Libc, fd: number, localPort: number): boolean {
  length[0] = SOCKADDR_BYTES;
  if (lib.getsockname(fd, addressBytes, length) !== 0) return false; // not a socket
  const family = addressBytes[0] | (addressBytes[1] << 8);
  if (family !== AF_INET && family !== AF_INET6) return false;
  return ((addressBytes[2] << 8) | addressBytes[3]) === localPort;
}

/** Milliseconds since `fd`, an established TCP connection on `localPort`, last received data. */
function idleFor(lib: Libc, fd: number, localPort: number): number | undefined {
  if (!onPort(lib, fd, localPort)) return undefined;
  length[0] = TCP_INFO_BYTES;
  if (lib.getsockopt(fd, IPPROTO_TCP, TCP_INFO, tcpInfoBytes, length) !== 0) return undefined;
  if (length[0] < (LAST_DATA_RECV_WORD + 1) * 4) return undefined;
  // Listeners, and connections already shut down or closed by the peer, are left to libzmq.
  if (tcpInfoBytes[0] !== TCP_ESTABLISHED) return undefined;
  return tcpInfo[LAST_DATA_RECV_WORD];
}

/** The peer address and port `peerOf` just read (the port is at bytes 2 and 3 of both families). */
function peerText(address: string): string {
  const port = (addressBytes[2] << 8) | addressBytes[3];
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

/** The peer address of `fd` when it is a connected TCP socket on `localPort`. */
function peerOf(lib: Libc, fd: number, localPort: number): string | undefined {
  if (!onPort(lib, fd, localPort)) return undefined;
  const family = addressBytes[0] | (addressBytes[1] << 8);
  length[0] = SOCKADDR_BYTES;
  if (lib.getpeername(fd, addressBytes, length) !== 0) return undefined; // a listener
  if (family === AF_INET) {
    return `${addressBytes[4]}.${addressBytes[5]}.${addressBytes[6]}.${addressBytes[7]}`;
  }
  if (lib.getnameinfo(addressBytes, length[0], host, HOST_BYTES, null, 0, NI_NUMERICHOST) !== 0) {
    return undefined;
  }
  const end = host.indexOf(0);
  return decoder.decode(host.subarray(0, end < 0 ? HOST_BYTES : end));
}
