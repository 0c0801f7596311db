// Folds our chunk streams with the AI SDK itself and compares with lib/uistream.c's fold.
//
// Usage: node check-uistream.mjs DIR
// For each DIR/NAME.sse (our chunks as the SSE the browser receives), DIR/NAME.request.json
// ({messages, newId}: the request's UIMessages and the id a new assistant message gets) and
// DIR/NAME.fold.json ({message, broken}: what uis_fold produced), this parses the SSE exactly
// as the SDK's DefaultChatTransport does (parseJsonEventStream + uiMessageChunkSchema), runs
// readUIMessageStream over it continuing the last assistant message as useChat does, writes
// the SDK's final message to DIR/NAME.sdk.json and prints one line per case. Exit 1 on any
// difference.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { join } from 'node:path';
import { parseJsonEventStream, readUIMessageStream, uiMessageChunkSchema } from 'ai';

function byteStream(bytes) {
  return new ReadableStream({
    start(controller) {
      // Split the bytes unevenly so the SSE parser sees events across reads.
      for (let i = 0; i < bytes.length; i += 97) controller.enqueue(bytes.subarray(i, i + 97));
      controller.close();
    },
  });
}

async function sdkFold(sse, request) {
  const errors = [];
  const chunks = parseJsonEventStream({ stream: byteStream(sse), schema: uiMessageChunkSchema })
    .pipeThrough(new TransformStream({
      transform(chunk, controller) {
        if (!chunk.success) throw chunk.error;
        controller.enqueue(chunk.value);
      },
    }));
  const last = request.messages.at(-1);
  const message = last?.role === 'assistant'
    ? structuredClone(last)
    : { id: request.newId, role: 'assistant', parts: [] };
  let final = structuredClone(message);
  for await (const snapshot of readUIMessageStream({
    message,
    stream: chunks,
    onError: (e) => errors.push(String(e?.message ?? e)),
  })) final = snapshot;
  // Errors the SDK reports for `error` chunks are expected; others mean it rejected a chunk.
  const rejected = errors.filter((e) => !request.errorTexts?.includes(e));
  return { message: JSON.parse(JSON.stringify(final)), rejected };
}

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node check-uistream.mjs DIR');
  process.exit(2);
}
let failed = 0;
const names = readdirSync(dir).filter((f) => f.endsWith('.sse')).map((f) => f.slice(0, -4)).sort();
for (const name of names) {
  const sse = readFileSync(join(dir, `${name}.sse`));
  const request = JSON.parse(readFileSync(join(dir, `${name}.request.json`), 'utf8'));
  const ours = JSON.parse(readFileSync(join(dir, `${name}.fold.json`), 'utf8'));
  const sdk = await sdkFold(sse, request);
  writeFileSync(join(dir, `${name}.sdk.json`), JSON.stringify(sdk.message, null, 2));
  const sdkBroken = sdk.rejected.length > 0;
  if (sdkBroken !== ours.broken) {
    failed++;
    console.log(`DIFF ${name}: SDK rejected a chunk: ${sdkBroken} (${sdk.rejected.join('; ')}),` +
      ` uis_fold broken: ${ours.broken}`);
  } else if (!isDeepStrictEqual(sdk.message, ours.message)) {
    failed++;
    console.log(`DIFF ${name}\n  sdk:  ${JSON.stringify(sdk.message)}\n  ours: ${JSON.stringify(ours.message)}`);
  } else {
    console.log(`ok ${name} (${sdk.message.parts.length} parts${sdkBroken ? ', both rejected a chunk' : ''})`);
  }
}
console.log(`${names.length - failed}/${names.length} folds agree with ai's readUIMessageStream`);
process.exit(failed ? 1 : 0);
