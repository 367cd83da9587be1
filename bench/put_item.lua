-- wrk: replace the same item on every request (its password is kept: omitted).
wrk.method = "PUT"
wrk.headers["Content-Type"] = "application/json"
local n = 0
request = function()
  n = n + 1
  local body = string.format('{"Name":"put %d","VaultItemType":"CredentialSet","UserName":"u%d","Notes":"n"}', n, n)
  return wrk.format(nil, nil, nil, body)
end
