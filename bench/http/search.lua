-- wrk script: POST /search with BM25 top-10 bodies read from the file named
-- by the environment variable CASCADE_BODIES (one JSON body per line),
-- taken round-robin, each thread starting at its own offset.
local bodies = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("start", counter * 97)
end

function init(args)
  local path = os.getenv("CASCADE_BODIES")
  for line in io.lines(path) do
    bodies[#bodies + 1] = line
  end
  n = start or 0
  wrk.method = "POST"
  wrk.path = "/search"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  n = n + 1
  return wrk.format(nil, nil, nil, bodies[(n % #bodies) + 1])
end

errors_non2xx = 0
function response(status, headers, body)
  if status ~= 200 then
    errors_non2xx = errors_non2xx + 1
  end
end
