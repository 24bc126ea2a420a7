namespace Enclave.Ui.Assets;

/// <summary>
/// The sign-in page answered (with 401 or 403) when <c>/ui</c> is opened without an admin credential. Placeholders:
/// <c>{{asset:NAME}}</c> and <c>{{message}}</c> (an HTML-encoded notice, or empty). It carries no gateway data.
/// </summary>
internal static class LoginPage
{
    public const string Html = """
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Enclave · Sign in</title>
<link rel="icon" type="image/svg+xml" href="{{asset:icon.svg}}">
<link rel="stylesheet" href="{{asset:dashboard.css}}">
</head>
<body class="login-body">
<form class="login" method="post" action="/ui/login" autocomplete="off">
  <div class="brand"><img src="{{asset:icon.svg}}" alt=""><span>Enclave</span></div>
  <h1>Sign in to the dashboard</h1>
  <p>The dashboard needs an API key with the <code>admin</code> scope.</p>
  {{message}}
  <label for="key">Admin API key</label>
  <input id="key" name="key" type="password" placeholder="enc_…" required autofocus spellcheck="false">
  <button type="submit">Sign in</button>
  <div class="hint">Create one with <code>enclave keys create --name ops --scopes admin</code>. The key is kept in a browser cookie for this session only.</div>
</form>
</body>
</html>
""";
}
