"""安否確認 (safety checks): after a disaster, an area is asked 「ご無事ですか？」 and the
answers are gathered on a live board."""
