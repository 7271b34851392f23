"""/auth: register, token (OAuth2 password flow), logout, password reset, me."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field

from topup.channels.api.deps import client_ip, current_user, database, oauth2
from topup.channels.api.schemas import (
    ProfileIn,
    RegisterIn,
    ResetConfirmIn,
    ResetRequestIn,
    TokenOut,
    UserOut,
)
from topup.db.uow import Database, UnitOfWork
from topup.promotions import points, referrals
from topup.subscribers import auth, reset
from topup.subscribers.auth import User
from topup.subscribers.errors import BadCredentials

router = APIRouter(prefix="/auth", tags=["auth"])


def user_out(user: User) -> UserOut:
    return UserOut(id=user.id, email=user.email, phone=user.phone, role=user.role,
                   language=user.language, currency=user.currency)


@router.post("/register", status_code=201, response_model=UserOut)
def register(request: Request, body: RegisterIn, db: Database = Depends(database)) -> UserOut:
    """Create a traveller account with an e-mail and/or phone login.

    A taken e-mail and a taken phone get the same refusal (``login_taken``); each address has
    a budget of attempts per hour (429 with Retry-After beyond it)."""
    address = client_ip(request)
    wait = db.transact(lambda uow: auth.admit_registration(uow, address), what="register")
    if wait:
        raise auth.registration_refused(wait)

    def work(uow: UnitOfWork) -> User:
        user = auth.register(uow, email=body.email, phone=body.phone, password=body.password,
                             language=body.language, currency=body.currency)
        if body.invite:  # a bad code refuses the registration: nothing is kept
            referrals.join(uow, user.id, body.invite)
        return user

    return user_out(db.transact(work, what="register"))


@router.post("/token", response_model=TokenOut)
def token(request: Request, form: OAuth2PasswordRequestForm = Depends(),
          db: Database = Depends(database)) -> TokenOut:
    """Log in: ``username`` is the e-mail or phone. Repeated failures back off (429)."""
    address = client_ip(request)

    def work(uow: UnitOfWork) -> str | None:
        user = auth.authenticate(uow, form.username, form.password, address)
        return auth.issue_token(uow, user) if user else None

    issued = db.transact(work, what="sign-in")
    if issued is None:
        raise BadCredentials()
    return TokenOut(access_token=issued, expires_in=db.settings.token_ttl_seconds)


@router.post("/logout", status_code=204)
def logout(token: str | None = Depends(oauth2), _: User = Depends(current_user),
           db: Database = Depends(database)) -> Response:
    """Revoke the bearer token used for this call."""
    db.transact(lambda uow: auth.revoke_token(uow, str(token)), what="sign-out")
    return Response(status_code=204)


@router.post("/password-reset", status_code=202)
def password_reset(request: Request, body: ResetRequestIn, db: Database = Depends(database)
                   ) -> dict[str, str]:
    """Send a one-time code to the login's phone or e-mail. The answer is the same for unknown
    logins and for requests over the hourly budget of the account or address (nothing is sent
    then)."""
    address = client_ip(request)  # the code goes out from the outbox, after COMMIT
    db.transact(lambda uow: reset.request_reset(uow, body.login, address),
                what="password reset")
    return {"status": "if the account exists, a code is on its way"}


@router.post("/password-reset/confirm", status_code=204)
def password_reset_confirm(request: Request, body: ResetConfirmIn,
                           db: Database = Depends(database)) -> Response:
    """Set a new password with the code; 5 wrong tries or 10 minutes spend the code, and wrong
    codes of an account (any of its codes) or an address back off (429 with Retry-After)."""
    address = client_ip(request)
    ok = db.transact(lambda uow: reset.confirm_reset(uow, body.login, body.code,
                                                     body.new_password, address),
                     what="password reset")
    if not ok:
        raise reset.reset_refused()
    return Response(status_code=204)


@router.get("/me", response_model=UserOut)
def me(user: User = Depends(current_user)) -> UserOut:
    """Who the token belongs to."""
    return user_out(user)


class PointsOut(BaseModel):
    balance: int = Field(..., description="Points that may be spent now")
    held: int = Field(..., description="Points held by orders not yet paid")
    expires_at: datetime | None = Field(
        None, description="When all of them expire unless some are earned or spent before")
    worth: int = Field(..., description="Minor units of the order's currency one point pays")
    invite_code: str = Field(..., description="The traveller's own invite code (邀请码)")
    invited: int = Field(..., description="Travellers who registered with it")
    rewarded: int = Field(..., description="Of whom the referral points were credited")


@router.get("/me/points", response_model=PointsOut)
def my_points(user: User = Depends(current_user), db: Database = Depends(database)
              ) -> PointsOut:
    """The signed-in traveller's loyalty points (积分)."""
    with db.unit(readonly=True) as uow:
        now = points.standing(uow, user.id)
        invited, rewarded = referrals.invited_count(uow, user.id)
        return PointsOut(balance=now.balance, held=now.held, expires_at=now.expires_at,
                         worth=uow.settings.points_worth,
                         invite_code=referrals.invite_code(uow, user.id), invited=invited,
                         rewarded=rewarded)


@router.patch("/me", response_model=UserOut)
def update_me(body: ProfileIn, user: User = Depends(current_user),
              db: Database = Depends(database)) -> UserOut:
    """Change the language (en, zh-CN) and home currency."""
    return user_out(db.transact(lambda uow: auth.update_profile(
        uow, user.id, language=body.language, currency=body.currency), what="profile"))
