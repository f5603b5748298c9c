#!/usr/bin/perl
# ir-string-sections.pl < in.ll > out.ll -- gives each string literal of an LLVM IR module
# its own section, so a firmware's --gc-sections drops the messages of the calls it never
# makes (docs/embedded.md, "Code"). Swift emits its StaticString literals as private
# unnamed_addr constants, which LLVM pools into one mergeable .rodata.str1.* section per
# object whatever -fdata-sections says: the firmware then kept every message of the
# library. Here they get plain names (.swstr.N), lose unnamed_addr (so -fdata-sections
# gives each its own section) and take alignment 1 (bytes read one by one: the 16 LLVM
# prefers for arrays of 16 bytes or more was padding).
use strict;
use warnings;
my @lines = <STDIN>;
my %name;
my $k = 0;
my $decl = ' = private unnamed_addr constant';
for (@lines) {
    next unless /^(@(?:"\.str\.[^"]*"|\.str\.[-\w\$.]+))\Q$decl\E/;
    my $old = $1;
    $name{$old} = '@.swstr.' . $k++;
    substr($_, 0, length($old) + length($decl)) = "$name{$old} = private constant";
    s/, align \d+\s*$/\n/;
    s/\n$/, align 1\n/;
}
for (@lines) {
    s/(@(?:"[^"]*"|[-\w\$.]+))/exists $name{$1} ? $name{$1} : $1/ge;
    print;
}
