require ["fileinto", "imap4flags", "mailbox", "comparator-vnd-mailserver-vi-fold", "relational", "comparator-i;ascii-numeric"];
if header :comparator "vnd-mailserver-vi-fold" :contains "subject" "du an so 0" { fileinto :create "Dự án/0"; stop; }
if address :domain :is "from" "so1.vinhyen.gov.vn" { addflag "$So1"; }
if header :contains ["to", "cc"] "phong2@" { fileinto :create "Phòng 2"; }
if allof(size :over 5M, header :contains "subject" "tai lieu 3") { fileinto :create "Lớn"; }
if header :matches "subject" "*khẩn*4*" { addflag "\\Flagged"; }
if header :comparator "vnd-mailserver-vi-fold" :contains "subject" "du an so 5" { fileinto :create "Dự án/5"; stop; }
if address :domain :is "from" "so6.vinhyen.gov.vn" { addflag "$So6"; }
if header :contains ["to", "cc"] "phong7@" { fileinto :create "Phòng 7"; }
if allof(size :over 5M, header :contains "subject" "tai lieu 8") { fileinto :create "Lớn"; }
if header :matches "subject" "*khẩn*9*" { addflag "\\Flagged"; }
if header :comparator "vnd-mailserver-vi-fold" :contains "subject" "du an so 10" { fileinto :create "Dự án/10"; stop; }
if address :domain :is "from" "so11.vinhyen.gov.vn" { addflag "$So11"; }
if header :contains ["to", "cc"] "phong12@" { fileinto :create "Phòng 12"; }
if allof(size :over 5M, header :contains "subject" "tai lieu 13") { fileinto :create "Lớn"; }
if header :matches "subject" "*khẩn*14*" { addflag "\\Flagged"; }
if header :comparator "vnd-mailserver-vi-fold" :contains "subject" "du an so 15" { fileinto :create "Dự án/15"; stop; }
if address :domain :is "from" "so16.vinhyen.gov.vn" { addflag "$So16"; }
if header :contains ["to", "cc"] "phong17@" { fileinto :create "Phòng 17"; }
if allof(size :over 5M, header :contains "subject" "tai lieu 18") { fileinto :create "Lớn"; }
if header :matches "subject" "*khẩn*19*" { addflag "\\Flagged"; }
if header :comparator "vnd-mailserver-vi-fold" :contains "subject" "du an so 20" { fileinto :create "Dự án/20"; stop; }
if address :domain :is "from" "so21.vinhyen.gov.vn" { addflag "$So21"; }
if header :contains ["to", "cc"] "phong22@" { fileinto :create "Phòng 22"; }
if allof(size :over 5M, header :contains "subject" "tai lieu 23") { fileinto :create "Lớn"; }
if header :matches "subject" "*khẩn*24*" { addflag "\\Flagged"; }
if header :comparator "vnd-mailserver-vi-fold" :contains "subject" "du an so 25" { fileinto :create "Dự án/25"; stop; }
if address :domain :is "from" "so26.vinhyen.gov.vn" { addflag "$So26"; }
if header :contains ["to", "cc"] "phong27@" { fileinto :create "Phòng 27"; }
if allof(size :over 5M, header :contains "subject" "tai lieu 28") { fileinto :create "Lớn"; }
if header :matches "subject" "*khẩn*29*" { addflag "\\Flagged"; }
if header :comparator "vnd-mailserver-vi-fold" :contains "subject" "du an so 30" { fileinto :create "Dự án/30"; stop; }
if address :domain :is "from" "so31.vinhyen.gov.vn" { addflag "$So31"; }
if header :contains ["to", "cc"] "phong32@" { fileinto :create "Phòng 32"; }
if allof(size :over 5M, header :contains "subject" "tai lieu 33") { fileinto :create "Lớn"; }
if header :matches "subject" "*khẩn*34*" { addflag "\\Flagged"; }
if header :comparator "vnd-mailserver-vi-fold" :contains "subject" "du an so 35" { fileinto :create "Dự án/35"; stop; }
if address :domain :is "from" "so36.vinhyen.gov.vn" { addflag "$So36"; }
if header :contains ["to", "cc"] "phong37@" { fileinto :create "Phòng 37"; }
if allof(size :over 5M, header :contains "subject" "tai lieu 38") { fileinto :create "Lớn"; }
if header :matches "subject" "*khẩn*39*" { addflag "\\Flagged"; }
if header :comparator "vnd-mailserver-vi-fold" :contains "subject" "du an so 40" { fileinto :create "Dự án/40"; stop; }
if address :domain :is "from" "so41.vinhyen.gov.vn" { addflag "$So41"; }
if header :contains ["to", "cc"] "phong42@" { fileinto :create "Phòng 42"; }
if allof(size :over 5M, header :contains "subject" "tai lieu 43") { fileinto :create "Lớn"; }
if header :matches "subject" "*khẩn*44*" { addflag "\\Flagged"; }
if header :comparator "vnd-mailserver-vi-fold" :contains "subject" "du an so 45" { fileinto :create "Dự án/45"; stop; }
if address :domain :is "from" "so46.vinhyen.gov.vn" { addflag "$So46"; }
if header :contains ["to", "cc"] "phong47@" { fileinto :create "Phòng 47"; }
if allof(size :over 5M, header :contains "subject" "tai lieu 48") { fileinto :create "Lớn"; }
if header :matches "subject" "*khẩn*49*" { addflag "\\Flagged"; }
