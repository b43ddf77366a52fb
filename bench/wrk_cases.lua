-- cycles through the bodies (one JSON document a line) in the file named by WRK_CASES
local requests = {}
local n = 0
init = function(args)
  local f = assert(io.open(os.getenv("WRK_CASES"), "r"))
  local headers = {
    ["Host"] = wrk.host .. ":" .. wrk.port,
    ["Content-Type"] = "application/json",
  }
  for line in f:lines() do
    if #line > 0 then requests[#requests + 1] = wrk.format("POST", nil, headers, line) end
  end
  f:close()
end
request = function()
  n = n + 1
  return requests[(n % #requests) + 1]
end
