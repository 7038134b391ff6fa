"""Where a learner stands (the contents notebook's table)."""

POLICY_ONLY = "ポリシーのみ設定済み"
TITLE = "いまの進み具合(IAMから取得)"
HEADER = ["ノートブック", "確認したこと", "状態"]
USER = 'IAMユーザー"{user}"(パス {path})'
DEVICE = '仮想MFAデバイス"{device}"とQRコードファイル'
ENABLED = '"{user}"のMFAが有効'
ACCESS_KEY = '"{user}"のアクセスキーとアクセスキーファイル'
POLICY = 'MFA必須のインラインポリシー"{policy}"(一時的な認証情報での確認はIAMに残りません)'
BACKUP = '(任意)予備の仮想MFAデバイス"{device}"が有効'
NOTHING_YET = "まだ何も作成されていません(または後始末が済んでいます)。01_preparation から始めます。"
NEXT_AFTER_POLICY = (
    "次に開くノートブック: 40_mfa_protected_access。MFA必須のポリシーは設定済みです。"
    "一時的な認証情報で確かめる手順はIAMに記録が残らないため、ここでは確認できません。"
    "40 を最後(完了確認)まで実行したら、90_cleanup で後始末をします。"
)
NEXT = "次に開くノートブック: {name}"
