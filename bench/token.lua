-- wrk: the OAuth token endpoint, client_credentials with client_secret_basic
-- (BASIC_CREDENTIALS is filled in by driver.py). Replaces the Bearer header
-- driver.py gives every run: the token endpoint authenticates the client.
wrk.method = "POST"
wrk.headers["Authorization"] = "Basic BASIC_CREDENTIALS"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "grant_type=client_credentials&scope=coffre.vault_item.read"
