// A byte stream read as text lines: the benchmark's children's output and its load processes' stdin.
// The test harness reads its children's output with it too.

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
