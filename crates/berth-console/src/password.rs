//! Signing in with an IAM user's password, as AWS's sign-in page asks it: the account (its id
//! or alias), the user name and the password. The same pre-session token, origin check, region
//! check and throttle as the access-key sign-in; the session is a [`crate::session::Session`]
//! whose `login` names the user, looked up on every request.

use std::net::IpAddr;
use std::time::Instant;

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use berth_control::iam::PasswordSignInFailure;
use maud::{Markup, html};
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::pages::{SignInForm, sign_in_page};
use crate::views::TextInput;
use crate::{ConsoleState, extract, plain, redirect, session};

/// The password sign-in form. The password is wiped from memory when the form is dropped.
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct PasswordSignInForm {
    /// The pre-session token (double submit with the sign-in cookie).
    pub signin: String,
    pub account: String,
    pub user_name: String,
    pub password: Zeroizing<String>,
    pub region: String,
}

/// The form, for the sign-in page (`token`: the pre-session token).
pub(crate) fn form(token: &str) -> Markup {
    let account = TextInput {
        autocomplete: Some("organization"),
        ..TextInput::new("account", "Account ID or alias", "").required()
    };
    let user = TextInput {
        autocomplete: Some("username"),
        ..TextInput::new("user_name", "IAM user name", "").required()
    };
    html! {
        h2 { "Or sign in as an IAM user with a password" }
        form.card method="post" action="/console/signin/password" {
            input type="hidden" name="signin" value=(token);
            (account.render())
            (user.render())
            label for="password" { "Password" }
            input type="password" id="password" name="password" autocomplete="current-password" required;
            label for="pw_region" { "Region" }
            input type="text" id="pw_region" name="region" value="us-east-1" required spellcheck="false";
            button type="submit" { "Log in with password" }
        }
    }
}

/// A password sign-in attempt.
pub(crate) fn sign_in(
    st: &ConsoleState,
    headers: &HeaderMap,
    peer: Option<IpAddr>,
    form: &PasswordSignInForm,
) -> Response {
    if !extract::same_origin(headers) {
        return plain(StatusCode::FORBIDDEN, "cross-origin request refused");
    }
    let refuse = |status, message: &str| {
        sign_in_page(st, headers, status, Some(message), &SignInForm::default())
    };
    let pre = extract::cookie(headers, session::SIGNIN_COOKIE).unwrap_or("");
    if !session::tokens_match(&form.signin, pre) {
        return refuse(
            StatusCode::FORBIDDEN,
            "the sign-in form expired: sign in again",
        );
    }
    let region = form.region.trim();
    if !st.control.regions.contains(region) {
        return refuse(
            StatusCode::BAD_REQUEST,
            "the region is not one berth answers to (for example us-east-1; others come from BERTH_EXTRA_REGIONS)",
        );
    }
    if let Err(wait) = st.throttle.check(peer, Instant::now()) {
        tracing::info!(peer = ?peer, "console sign-in refused: too many failures");
        return refuse(
            StatusCode::TOO_MANY_REQUESTS,
            &format!(
                "too many failed sign-ins from this address: try again in {} s",
                wait.as_secs().max(1)
            ),
        );
    }
    let (login, principal) = match st.control.password_sign_in(
        &form.account,
        &form.user_name,
        &form.password,
    ) {
        Ok(found) => found,
        Err(PasswordSignInFailure::Internal(e)) => {
            tracing::error!(error = %e, "console: password sign-in failed");
            return refuse(StatusCode::INTERNAL_SERVER_ERROR, crate::INTERNAL_FAILURE);
        }
        Err(PasswordSignInFailure::Invalid) => {
            tracing::info!(user = %form.user_name, "console password sign-in refused");
            st.throttle.failed(peer, Instant::now());
            return refuse(
                StatusCode::UNAUTHORIZED,
                "the account, IAM user name or password is not valid",
            );
        }
        Err(PasswordSignInFailure::ResetRequired) => {
            return refuse(
                StatusCode::UNAUTHORIZED,
                "this user must set a new password first: call ChangePassword with the current one (aws iam change-password), or ask an administrator to update the login profile",
            );
        }
        Err(PasswordSignInFailure::Expired) => {
            return refuse(
                StatusCode::UNAUTHORIZED,
                "the password has expired under the account's password policy: ask an administrator to update the login profile",
            );
        }
    };
    if let Some(old) = extract::cookie(headers, session::SESSION_COOKIE) {
        st.sessions.remove(old);
    }
    let id = match st.sessions.create_for_password(login, region) {
        Ok(id) => id,
        Err(e) => return refuse(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    };
    tracing::info!(principal = %principal.arn(), "console sign-in with a password");
    redirect(
        "/console",
        &[
            session::session_cookie(&id, st.secure_cookies),
            session::expired_cookie(session::SIGNIN_COOKIE, st.secure_cookies),
        ],
    )
}
