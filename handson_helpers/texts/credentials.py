"""How the kit names the credentials it holds (never their secret)."""

ACCESS_KEY = "アクセスキー {key}(シークレットは表示しません)"
SESSION = "一時的な認証情報 {key}(シークレットは表示しません)"
