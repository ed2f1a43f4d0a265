/**
 * express-session's `touch`: the session's cookie now expires later. KEYS: record.
 * ARGV: the new cookie (JSON text), the new lifetime in ms (>= 1).
 * Replaces the value of the record's top-level `"cookie"` member by the new cookie (adds it when
 * the record has none) and sets the new lifetime, in one step: the stored `cookie.expires` and the
 * key's TTL always agree, and data written by a concurrent `set` is never overwritten by an older
 * copy (only the cookie's bytes change; the rest of the record is kept byte for byte).
 * A record that is not a JSON object only gets the new lifetime.
 * Returns 1, or 0 when the record does not exist (a destroyed session is not brought back).
 *
 * The record is scanned, not decoded and re-encoded with cjson: cjson would rewrite numbers
 * (14 significant digits), turn `[]` into `{}` and reorder keys. The scanner only needs the JSON
 * structure at depth 1: strings are skipped whole (escapes included), `{ [` and `} ]` counted; a
 * string at depth 1 followed by `:` is a member name.
 */
export const XTOUCH: string = String.raw`
local function with_cookie(s, c)
  local first = string.find(s, '%S')
  if first == nil or string.byte(s, first) ~= 123 then return nil end
  local depth = 0
  local pos = first
  local vstart = nil
  while true do
    local p = string.find(s, '["{}%[%],]', pos)
    if p == nil then return nil end
    local b = string.byte(s, p)
    if b == 34 then
      local q = p + 1
      while true do
        q = string.find(s, '["\\]', q)
        if q == nil then return nil end
        if string.byte(s, q) == 92 then q = q + 2 else break end
      end
      if depth == 1 and vstart == nil and string.sub(s, p, q) == '"cookie"' then
        local _, e = string.find(s, '^%s*:%s*', q + 1)
        if e ~= nil then vstart = e + 1 end
      end
      pos = q + 1
    elseif b == 123 or b == 91 then
      depth = depth + 1
      pos = p + 1
    elseif b == 44 and depth == 1 and vstart ~= nil then
      return string.sub(s, 1, vstart - 1) .. c .. string.sub(s, p)
    elseif b == 125 and depth == 1 then
      if vstart ~= nil then return string.sub(s, 1, vstart - 1) .. c .. string.sub(s, p) end
      if string.find(s, '^%s*}', first + 1) then return '{"cookie":' .. c .. string.sub(s, p) end
      return '{"cookie":' .. c .. ',' .. string.sub(s, first + 1)
    else
      if b == 125 or b == 93 then depth = depth - 1 end
      pos = p + 1
    end
  end
end
local rec = redis.call('GET', KEYS[1])
if not rec then return 0 end
local next = with_cookie(rec, ARGV[1])
if next == nil then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
else
  redis.call('SET', KEYS[1], next, 'PX', ARGV[2])
end
return 1
`;

/**
 * What {@link XTOUCH} does to a record, for the memory fallback: the record with its top-level
 * `cookie` replaced by `cookieJson` (or `null` when it is not a JSON object: keep it as is).
 */
export function withCookie(json: string, cookieJson: string): string | null {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const record = value as Record<string, unknown>;
  const cookie = JSON.parse(cookieJson) as unknown;
  if (Object.hasOwn(record, 'cookie')) {
    record.cookie = cookie;
    return JSON.stringify(record);
  }
  return JSON.stringify({ cookie, ...record });
}
