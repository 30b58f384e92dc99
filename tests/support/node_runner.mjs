// @ts-check
// Runs test scripts (ES modules, one JSON line each on stdin) in this one Node process and
// answers each with one JSON line on stdout: {"id", "out"} (what the script printed with
// console.log) or {"id", "error"}. Starting Node once rather than per script saves a
// process start (up to a second on a loaded machine) for every call of a JS unit test.
//
// Each script gets a module graph of its own, as a fresh Node would: the resolve hook
// below tags every file:// module a script imports, directly or not, with the script's
// run number, so js/ modules are evaluated again per script (their module-level state,
// e.g. the test-hook opt-in read at load, never leaks from one script into the next),
// and the globals a script adds or changes are put back as they were once it has run.
import { register } from "node:module";
import { createInterface } from "node:readline";

const HOOKS = `
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  const run = /nbcrun=(\\d+)/.exec(context.parentURL ?? "");
  if (!run || !resolved.url.startsWith("file:")) return resolved;
  const url = new URL(resolved.url);
  url.searchParams.set("nbcrun", run[1]);
  return { ...resolved, url: url.href };
}
`;
register("data:text/javascript," + encodeURIComponent(HOOKS), import.meta.url);

const log = console.log;
/** @param {unknown} answer */
function reply(answer) {
  process.stdout.write(JSON.stringify(answer) + "\n");
}

// A script's leftover timer or promise may fail after its answer was sent: say so on
// stderr (pytest shows it with the failing test) rather than end the process.
process.on("uncaughtException", (error) => process.stderr.write(`node_runner: ${error.stack}\n`));
process.on("unhandledRejection", (error) =>
  process.stderr.write(`node_runner: unhandled rejection: ${/** @type {Error} */ (error)?.stack ?? error}\n`),
);

/** @returns {Map<string, PropertyDescriptor | undefined>} */
function globals() {
  return new Map(
    Object.getOwnPropertyNames(globalThis).map((k) => [k, Object.getOwnPropertyDescriptor(globalThis, k)]),
  );
}

/** @param {Map<string, PropertyDescriptor | undefined>} before */
function restoreGlobals(before) {
  const g = /** @type {Record<string, unknown>} */ (/** @type {unknown} */ (globalThis));
  for (const key of Object.getOwnPropertyNames(globalThis)) {
    const was = before.get(key);
    if (was === undefined) delete g[key];
    else if ("value" in was && was.value !== g[key]) Object.defineProperty(globalThis, key, was);
  }
}

let run = 0;
const lines = createInterface({ input: process.stdin });
// One script at a time: console.log is taken over for the script being run.
for await (const line of lines) {
  const { id, script } = JSON.parse(line);
  run += 1;
  /** @type {string[]} */
  const printed = [];
  const before = globals();
  console.log = (...args) => printed.push(args.map(String).join(" "));
  try {
    await import(`data:text/javascript;nbcrun=${run},` + encodeURIComponent(script));
    reply({ id, out: printed.join("\n") });
  } catch (error) {
    reply({ id, error: /** @type {Error} */ (error)?.stack ?? String(error) });
  } finally {
    console.log = log;
    restoreGlobals(before);
  }
}
