// A byte stream read as text lines: child processes' output and stdin, for the tests and the benchmark.
// The one line reader of chatz; it decodes UTF-8 across chunk boundaries.

/** Yields each line of `stream` without its newline; a last line without one is yielded too. */
export async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    const lines = (rest + chunk).split("\n");
    rest = lines.pop() ?? "";
    yield* lines;
  }
  if (rest) yield rest;
}
