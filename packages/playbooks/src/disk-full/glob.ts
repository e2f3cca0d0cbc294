// A deliberately tiny glob: `*`, `?` and `[...]` (with `!`/`^` negation and ranges), matched against a
// whole basename. Everything else is literal, so a pattern can never smuggle regex syntax in.

const REGEX_SPECIAL = /[.*+?^${}()|[\]\\/]/g;

/** Compile a basename glob to an anchored RegExp. Throws SyntaxError on an invalid range such as `[z-a]`. */
export function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === "*") {
      re += "[^/]*";
    } else if (c === "?") {
      re += "[^/]";
    } else if (c === "[") {
      const end = glob.indexOf("]", i + 1);
      let body = end === -1 ? "" : glob.slice(i + 1, end);
      const negated = body.startsWith("!") || body.startsWith("^");
      if (negated) body = body.slice(1);
      // An unclosed or empty class is a literal "[" (an empty JS class would match nothing or, negated, anything).
      if (body === "") {
        re += "\\[";
        continue;
      }
      re += `[${negated ? "^/" : ""}${body.replace(/[\\\]^[]/g, "\\$&")}]`;
      i = end;
    } else {
      re += c.replace(REGEX_SPECIAL, "\\$&");
    }
  }
  return new RegExp(`^${re}$`, "s");
}

/** A matcher for several globs; true when any of them matches `name`. */
export function globMatcher(globs: readonly string[]): (name: string) => boolean {
  const res = globs.map(globToRegExp);
  return (name) => res.some((r) => r.test(name));
}
