-- wrk: create a credential set per request (SECTION_GUID is filled in by driver.py).
-- wrk.format replaces wrk.headers when given headers, so extend them instead.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local n = 0
request = function()
  n = n + 1
  local body = string.format(
    '{"Name":"load %d %d","VaultSectionGuid":"SECTION_GUID","VaultItemType":"CredentialSet","UserName":"u%d","Password":"p-%d"}',
    math.random(1, 1000000000), n, n, n)
  return wrk.format(nil, nil, nil, body)
end
