from django.conf import settings

from accounts.modules import Role
from tests.support import PASSWORD, client_for, make_user


def test_login_locks_out_after_repeated_failures(alpha):
    user = make_user(alpha, role=Role.OPERATIONS, email="typo@alpha.test")
    client = client_for(alpha)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post("/login/", {"username": user.email, "password": "wrong-password"})
        assert response.status_code == 200 and "correct email and password" in response.content.decode()

    locked = client.post("/login/", {"username": user.email, "password": "wrong-password"})
    assert locked.status_code == 429
    assert "Too many failed sign-in attempts" in locked.content.decode()

    # Even the right password is refused while locked out.
    still = client.post("/login/", {"username": user.email, "password": PASSWORD})
    assert still.status_code == 429
    assert client.get("/").status_code == 302


def test_lockout_of_one_user_does_not_block_another(alpha):
    victim = make_user(alpha, role=Role.OPERATIONS, email="victim@alpha.test")
    other = make_user(alpha, role=Role.OPERATIONS, email="other@alpha.test")
    client = client_for(alpha)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/login/", {"username": victim.email, "password": "nope-nope"})
    ok = client.post("/login/", {"username": other.email, "password": PASSWORD})
    assert ok.status_code == 302 and ok["Location"] == "/"


def test_login_succeeds_and_lands_on_dashboard(alpha):
    user = make_user(alpha, role=Role.ANALYST, email="ana@alpha.test")
    client = client_for(alpha)
    response = client.post("/login/", {"username": "ANA@alpha.test", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == "/"
    assert "Hello, Analyst" in response.content.decode()
    assert user.email == "ana@alpha.test"
