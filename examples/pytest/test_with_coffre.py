"""Tests written against coffre through the fixtures in conftest.py. Runs
under pytest, or as a plain script (`python3 test_with_coffre.py`) where
pytest is not installed."""

CI_KEY = "coffre_qESnDjcCVTWB_NRUhOMkC994g9ByiXxI77XgHz3R52C3B7Hi6m4SKw8A1BWUsm"
SHOP_LOGIN = "0A1B2C3D-0000-4000-8000-000000000051"


def test_a_seeded_key_reads_a_seeded_secret(coffre):
    status, item = coffre.call("GET", f"/v4/VaultItem/{SHOP_LOGIN}/Reveal", key=CI_KEY)
    assert status == 200
    assert item["Password"] == "Tr0ub4dor&3"


def test_changes_made_here(coffre):
    status, _ = coffre.call("DELETE", f"/v4/VaultItem/{SHOP_LOGIN}")
    assert status == 204
    status, _ = coffre.call("POST", "/v4/VaultSection", {"Name": "Left behind?"})
    assert status == 201


def test_are_gone_in_the_next_test(coffre):
    status, _ = coffre.call("GET", f"/v4/VaultItem/{SHOP_LOGIN}")
    assert status == 200
    _, sections = coffre.call("GET", "/v4/VaultSection")
    assert "Left behind?" not in [s["Name"] for s in sections]


if __name__ == "__main__":
    import coffre_harness

    server = coffre_harness.start()
    try:
        for test in [test_a_seeded_key_reads_a_seeded_secret, test_changes_made_here,
                     test_are_gone_in_the_next_test]:
            server.reset()
            test(server)
            print(f"{test.__name__} passed")
    finally:
        server.stop()
