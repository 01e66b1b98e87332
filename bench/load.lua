-- wrk script for PIE's load benchmark (python -m bench.api load starts wrk with it).
--
--   wrk -t1 -c8 -d20s -s bench/load.lua http://127.0.0.1:PORT -- MODE TOKENS_FILE
--
-- MODE: mix (90% GET most_recent_and_certain, 9% POST of a new intent, 1% POST of a
-- duplicate: a 400), recent (GET most_recent_and_certain only) or health (GET /health/).
-- TOKENS_FILE: lines of "<JWT>\t<JSON of one of the learner's stored intents>"; each request
-- picks a line at random. done() prints "PIE_RESULT {json}" (counts, latency, statuses).

local RECENT_PATH = "/api/v1/program_intents/most_recent_and_certain/"
local CREATE_PATH = "/api/v1/program_intents/"
local HEALTH_PATH = "/health/"
local REASONS = {
  { "BUNDLE_PURCHASE", "CERTAIN_YES" },
  { "ENROLLED_ALL_COURSES", "MAYBE" },
  { "EARNED_PROGRAM_CERT", "CERTAIN_YES" },
}

local threads = {}
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_number", thread_count)
  table.insert(threads, thread)
end

-- Per-thread state (each wrk thread runs its own copy of this script).
local mode
local learners = {}
statuses = {}

function init(args)
  mode = args[1] or "mix"
  local path = args[2]
  if mode ~= "health" then
    local file = assert(io.open(path, "r"), "cannot open tokens file " .. tostring(path))
    for line in file:lines() do
      local token, body = line:match("^([^\t]+)\t(.+)$")
      if token then
        table.insert(learners, { auth = "JWT " .. token, duplicate = body })
      end
    end
    file:close()
    assert(#learners > 0, "no learners in " .. path)
  end
  math.randomseed(os.time() * 100 + (thread_number or 1))
end

local function random_uuid()
  local hex = "0123456789abcdef"
  local function digits(n)
    local out = {}
    for i = 1, n do
      local d = math.random(1, 16)
      out[i] = hex:sub(d, d)
    end
    return table.concat(out)
  end
  local variant = math.random(1, 4)
  return digits(8) .. "-" .. digits(4) .. "-4" .. digits(3) .. "-"
    .. ("89ab"):sub(variant, variant) .. digits(3) .. "-" .. digits(12)
end

local function new_intent_body()
  local reason = REASONS[math.random(1, #REASONS)]
  local certainty = reason[2]
  if math.random() < 0.05 then
    certainty = "CERTAIN_NO"
  end
  -- A moment in 2019-2024 with milliseconds: with a random program, always a new intent.
  local seconds = 1546300800 + math.random(0, 189216000)
  local timestamp = os.date("!%Y-%m-%dT%H:%M:%S", seconds) .. string.format(".%03dZ", math.random(0, 999))
  return string.format(
    '{"program_uuid": "%s", "reason": "%s", "certainty": "%s", "effective_timestamp": "%s"}',
    random_uuid(), reason[1], certainty, timestamp
  )
end

function request()
  if mode == "health" then
    return wrk.format("GET", HEALTH_PATH)
  end
  local learner = learners[math.random(1, #learners)]
  local draw = math.random()
  if mode == "recent" or draw < 0.90 then
    return wrk.format("GET", RECENT_PATH, { ["Authorization"] = learner.auth })
  end
  local headers = { ["Authorization"] = learner.auth, ["Content-Type"] = "application/json" }
  if draw < 0.99 then
    return wrk.format("POST", CREATE_PATH, headers, new_intent_body())
  end
  return wrk.format("POST", CREATE_PATH, headers, learner.duplicate)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local merged = {}
  for _, thread in ipairs(threads) do
    local counts = thread:get("statuses")
    for status, count in pairs(counts) do
      merged[status] = (merged[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(merged) do
    table.insert(parts, string.format('"%d": %d', status, count))
  end
  local errors = summary.errors
  io.write(string.format(
    'PIE_RESULT {"requests": %d, "duration_us": %d, "bytes": %d, '
      .. '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "max": %d, "mean": %.1f}, '
      .. '"socket_errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, '
      .. '"statuses": {%s}}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean,
    errors.connect, errors.read, errors.write, errors.timeout,
    table.concat(parts, ", ")
  ))
end
